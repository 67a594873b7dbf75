import type { BackgroundWork, CustomResourceContext, SimulatedClock } from './deploy-driver';
import type { LoadWaitPoll } from '../../lib/provider/handler-types';
import type { LoadWaitAnswer } from '../../lib/provider/load-wait-poll';
import { isComplete } from '../../lib/resource-handlers';

/**
 * The stack's load waiter as Step Functions runs it (lib/provider/load-wait.ts): every execution a
 * handler started (`StartExecution`, recorded by `FakeAws`) goes on by itself while the deployment
 * waits, whatever CloudFormation waits for meanwhile. Its definition is `Wait` one minute → `Poll`
 * (the shared isComplete function, `resultPath: '$.Answer'`) → `Choice` on `$.Answer.Done`: the
 * first poll comes a minute after the start, each poll gets the execution's input with the previous
 * poll's answer in `Answer`, and the execution succeeds when an answer is `Done`. A poll that throws
 * fails the execution (its Lambda error is not one `retryOnServiceExceptions` retries); an execution
 * still running after the state machine's `TimeoutSeconds` times out. Each poll runs as the role of
 * the function the state machine invokes. Executions of other state machines are left alone.
 */

/** How often the waiter polls (its `Wait` state). */
const POLL_SECONDS = 60;

export interface LoadWaiterExecution {
  readonly name: string;
  readonly stateMachineArn: string;
  readonly poll: LoadWaitPoll;
  readonly startedAt: number;
  /** The time of the next poll (while it runs). */
  nextPollAt: number;
  /** The last poll's answer (`$.Answer`). */
  answer?: LoadWaitAnswer;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  polls: number;
  endedAt?: number;
  /** Why it failed. */
  error?: string;
  /** The role its polls run as, and its state machine's `TimeoutSeconds` (read once, at its start). */
  readonly role: string;
  readonly timeoutSeconds?: number;
}

export class LoadWaiterModel implements BackgroundWork {
  public readonly executions = new Map<string, LoadWaiterExecution>();

  /** `context`: the deployment the executions run in now (the account, its roles, the template as deployed). */
  constructor(private readonly context: () => CustomResourceContext | undefined) {}

  /** Whether an execution is still running. */
  public get running(): boolean {
    this.discover();
    return [...this.executions.values()].some(e => e.status === 'RUNNING');
  }

  /** When the next poll of a running execution comes, if one runs. */
  public nextPollAt(): number | undefined {
    this.discover();
    const due = [...this.executions.values()].filter(e => e.status === 'RUNNING').map(e => e.nextPollAt);
    return due.length > 0 ? Math.min(...due) : undefined;
  }

  public async runUntil(clock: SimulatedClock, until: number): Promise<void> {
    for (;;) {
      this.discover();
      const next = [...this.executions.values()].filter(e => e.status === 'RUNNING' && e.nextPollAt <= until)
        .sort((a, b) => a.nextPollAt - b.nextPollAt || a.name.localeCompare(b.name))[0];
      if (!next) return;
      clock.now = Math.max(clock.now, next.nextPollAt);
      await this.pollOnce(next, clock.now);
    }
  }

  private async pollOnce(execution: LoadWaiterExecution, now: number): Promise<void> {
    const ctx = this.context();
    if (!ctx) return;
    const timeout = execution.timeoutSeconds;
    if (timeout !== undefined && now > execution.startedAt + timeout * 1000) {
      Object.assign(execution, { status: 'TIMED_OUT', endedAt: execution.startedAt + timeout * 1000 });
      return;
    }
    // a poll runs beside whatever the deployment does: who made the calls is put back afterwards
    const saved = { origin: ctx.fake.origin, role: ctx.fake.role, caller: ctx.fake.dms.caller };
    ctx.fake.origin = `load waiter ${execution.name} (${execution.poll.UniqueId})`;
    ctx.fake.role = execution.role;
    execution.polls++;
    try {
      const answer = await isComplete({ LoadWaitPoll: execution.poll, ...(execution.answer ? { Answer: execution.answer } : {}) }) as LoadWaitAnswer;
      execution.answer = answer;
      if (answer.Done) {
        Object.assign(execution, { status: 'SUCCEEDED', endedAt: now });
      } else {
        execution.nextPollAt = now + POLL_SECONDS * 1000;
      }
    } catch (e) {
      Object.assign(execution, { status: 'FAILED', endedAt: now, error: (e as Error).message });
    } finally {
      Object.assign(ctx.fake, { origin: saved.origin, role: saved.role });
      ctx.fake.dms.caller = saved.caller;
    }
  }

  /** Picks up the load waiter's executions started since the last look. */
  private discover(): void {
    const ctx = this.context();
    if (!ctx) return;
    for (const [name, e] of ctx.fake.executions) {
      if (this.executions.has(name)) continue;
      const input = JSON.parse(e.input ?? '{}');
      if (!input.LoadWaitPoll) continue;
      this.executions.set(name, {
        name,
        stateMachineArn: e.stateMachineArn,
        poll: input.LoadWaitPoll,
        startedAt: e.startedAt,
        nextPollAt: e.startedAt + POLL_SECONDS * 1000,
        status: 'RUNNING',
        polls: 0,
        role: waiterRole(ctx, e.stateMachineArn),
        timeoutSeconds: timeoutSeconds(ctx, e.stateMachineArn),
      });
    }
  }
}

/** The logical id of the state machine with this ARN in the template as deployed. */
function stateMachine(ctx: CustomResourceContext, arn: string): string | undefined {
  return ctx.deployed.logicalIds('AWS::StepFunctions::StateMachine').find(id => ctx.deployed.ref(id) === arn);
}

/** The state machine's `TimeoutSeconds`, if its definition sets one. */
function timeoutSeconds(ctx: CustomResourceContext, arn: string): number | undefined {
  const id = stateMachine(ctx, arn);
  if (!id) return undefined;
  const seconds = JSON.parse(ctx.deployed.property(id, 'DefinitionString')).TimeoutSeconds;
  return seconds === undefined ? undefined : Number(seconds);
}

/** The role of the function the state machine's Task state invokes. */
function waiterRole(ctx: CustomResourceContext, arn: string): string {
  const id = stateMachine(ctx, arn);
  if (!id) return '(a state machine of another stack)';
  const states = Object.values<any>(JSON.parse(ctx.deployed.property(id, 'DefinitionString')).States);
  return ctx.iam.roleOfFunction(ctx.iam.functionWithArn(states.find(s => s.Type === 'Task').Resource));
}
