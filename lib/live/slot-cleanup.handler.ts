// The AWS SDK comes from the Lambda runtime: the handler bundles mark it external.
import { CloudFormationClient, DescribeStackResourceCommand, StackResourceDetail } from '@aws-sdk/client-cloudformation';
import { ReplicationTask } from '@aws-sdk/client-database-migration-service';
import { SFNClient, StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import type { SlotRequest, SlotResponse } from './replication-slots.lambda';
import { errorMessage, isError, isThrottling, timing } from '../core/api-calls';
import { describeTaskByArn, ruleFor, stopTask } from '../dms-api/dms-task';
import type { IsCompleteResult, OnEventResult, ProviderRequest } from '../provider/handler-types';
import { isRollingBack, stackStatus } from '../provider/stack-status';

/** Properties of a `Custom::NeonReplicationSlotCleanup` resource (CloudFormation passes every value as a string). */
export interface SlotCleanupProperties {
  /** The replication task whose slot is recorded and, when CloudFormation deletes the task, dropped. */
  readonly TaskArn: string;
  readonly TaskIdentifier: string;
  /** The task's logical id: whether CloudFormation deletes the task is read from the stack. */
  readonly TaskLogicalId: string;
  /** The source database's secret (RDS JSON), which the slot function reads. */
  readonly SourceSecretArn: string;
  /** The database the task migrates: its slots are the only ones looked at. */
  readonly DatabaseName: string;
  /** The private addresses of the task's replication instance (comma-separated, as CloudFormation gives them). */
  readonly ReplicationInstanceAddresses?: string | string[];
  /** The slot the source endpoint names (`slotName`): the task's slot, known without looking. */
  readonly SlotName?: string;
  /** The state machine that runs the slot function in the replication network. */
  readonly RelayArn: string;
  /** Changes whenever CloudFormation modifies the task: the slot is looked up again. */
  readonly TaskProperties?: string;
  /** PEM bundle to verify the source's certificate with. */
  readonly SourceCaBundle?: string;
}

/** How long a create or update waits in the slot function for the task's slot to appear. */
export const RECORD_WAIT_SECONDS = 90;
/** How long a delete waits for the task to stop and its walsender to let go of the slot. */
export const DELETE_WAIT_MS = 15 * 60 * 1000;

/** Separates the task ARN from the recorded slot in the physical id. */
const SLOT_MARK = '|slot=';

/** The physical id: the task and the slot recorded for it (empty when none is known). */
export function physicalIdOf(taskArn: string, slot: string | undefined): string {
  return `${taskArn}${SLOT_MARK}${slot ?? ''}`;
}

/** The task and the recorded slot of a physical id. */
export function parsePhysicalId(physicalId: string | undefined): { taskArn?: string; slot?: string } {
  const at = physicalId?.lastIndexOf(SLOT_MARK) ?? -1;
  if (!physicalId || at < 0) {
    return {};
  }
  const slot = physicalId.slice(at + SLOT_MARK.length);
  return { taskArn: physicalId.slice(0, at), slot: slot.length > 0 ? slot : undefined };
}

/*
 * Create and update (after the task's lifecycle started the task, and whenever CloudFormation
 * modified it): find the slot the task reads — the source endpoint's `slotName`, or the one logical
 * slot of the task's database whose walsender connects from the task's replication instance — and
 * record it in the physical id, where a later delete finds it. A new slot (a reload recreates it)
 * gives a new physical id: CloudFormation then deletes the old one, which drops the slot the task
 * left. A source the slot function cannot reach fails the deployment (the cleanup would not work
 * when it is needed), except during a rollback.
 *
 * Delete:
 * - when CloudFormation deletes the task too (the stack, the task replaced or removed): the slot is
 *   looked up once more while the task runs, the task is stopped (it is deleted next anyway), and
 *   once it stopped, its slots are dropped where safe (logical, of the database, a DMS plugin,
 *   inactive); the log says what was dropped and how much WAL the source may remove;
 * - when the task stays (this resource removed, or its recorded slot replaced by a new one): only a
 *   recorded slot the task no longer uses is dropped, never the one it reads.
 * A delete never fails: a source the slot function cannot reach, or a slot that stays active, is
 * logged with the statement to drop it by hand.
 */
/** During a rollback, updates run as written: its update during a rollback keeps the record of the restored task's slot and drops nothing (see onEvent). */
export const rollback = 'run';

export async function onEvent(event: ProviderRequest): Promise<OnEventResult> {
  const props = properties(event);
  if (event.RequestType === 'Delete') {
    return { PhysicalResourceId: event.PhysicalResourceId, Data: await planDelete(event, props) };
  }
  const rollingBack = event.RequestType === 'Update' && await isRollingBack(event.StackId);
  const previous = parsePhysicalId(event.PhysicalResourceId);
  const kept = previous.taskArn === props.TaskArn ? previous.slot : undefined;
  const found = await recordSlot(props, rollingBack);
  const slot = found.slot ?? kept;
  if (!found.slot && kept) {
    console.log(`Keeping the slot recorded before for ${props.TaskIdentifier}: ${kept}`);
  }
  return {
    PhysicalResourceId: physicalIdOf(props.TaskArn, slot),
    Data: { SlotName: slot ?? '', Candidates: found.candidates.join(','), Warning: found.warning ?? '' },
  };
}

export async function isComplete(event: ProviderRequest): Promise<IsCompleteResult> {
  if (event.RequestType !== 'Delete') {
    return { IsComplete: true };
  }
  const props = properties(event);
  const names = listOf(event.Data?.Slots);
  if (names.length === 0) {
    return { IsComplete: true };
  }
  const deadline = Number(event.Data?.Deadline ?? 0);
  try {
    if (event.Data?.StopTask === 'true' && !(await taskStopped(event.Data?.TaskArn ?? props.TaskArn))) {
      if (timing.now() < deadline) {
        return { IsComplete: false };
      }
      warnLeft(props, names, `the task ${props.TaskIdentifier} did not stop within ${DELETE_WAIT_MS / 60_000} minutes`);
      return { IsComplete: true };
    }
    const answer = await relay(props, { Operation: 'drop', SlotNames: names });
    if (!answer.Reachable) {
      warnLeft(props, names, answer.Error ?? 'the source could not be reached');
      return { IsComplete: true };
    }
    for (const dropped of answer.Dropped ?? []) {
      console.log(`Dropped replication slot ${dropped.name} of ${props.DatabaseName} (task ${props.TaskIdentifier}): it kept ${megabytes(dropped.retainedBytes)} of WAL on the source`);
    }
    const active = (answer.Kept ?? []).filter((k) => /^active/.test(k.reason) || /is active for PID/.test(k.reason));
    if (active.length > 0 && timing.now() < deadline) {
      // the walsender of a task that just stopped lets go of the slot shortly after
      console.log(`Slot(s) ${active.map((k) => k.name).join(', ')} still active; looking again`);
      return { IsComplete: false };
    }
    for (const kept of answer.Kept ?? []) {
      const manual = kept.reason === 'no such slot' ? '' : ` Drop it by hand once nothing reads it: SELECT pg_drop_replication_slot('${kept.name}');`;
      console.log(`Kept replication slot ${kept.name} of ${props.DatabaseName}: ${kept.reason}.${manual}`);
    }
    console.log(`The source may remove ${megabytes(answer.ReleasedBytes ?? 0)} of WAL at its next checkpoint.`);
    return { IsComplete: true };
  } catch (e) {
    if (isThrottling(e) && timing.now() < deadline) {
      return { IsComplete: false };
    }
    warnLeft(props, names, errorMessage(e));
    return { IsComplete: true };
  }
}

/** What a create or update found. */
interface Recorded {
  readonly slot?: string;
  readonly candidates: string[];
  readonly warning?: string;
}

async function recordSlot(props: SlotCleanupProperties, rollingBack: boolean): Promise<Recorded> {
  if (props.SlotName) {
    console.log(`Task ${props.TaskIdentifier} reads the slot its source endpoint names: ${props.SlotName}`);
    return { slot: props.SlotName, candidates: [props.SlotName] };
  }
  const task = await describeTaskByArn(props.TaskArn);
  if (!task || !['running', 'starting'].includes(task.Status ?? '')) {
    console.log(`Task ${props.TaskIdentifier} is ${task?.Status ?? 'not found'}: no slot to record now; the delete looks for it again`);
    return { candidates: [] };
  }
  const answer = await relay(props, { Operation: 'inspect', ClientAddresses: addressesOf(props), WaitSeconds: RECORD_WAIT_SECONDS });
  if (!answer.Reachable) {
    const message = `The replication-slot cleanup of task ${props.TaskIdentifier} cannot reach the source: ${answer.Error}. `
      + 'The slot function runs in the replication subnets with the replication security group: the source must admit it as it admits '
      + 'the replication instance, and the subnets must reach Secrets Manager (a VPC endpoint or a NAT route).';
    if (rollingBack) {
      console.log(message);
      return { candidates: [], warning: message };
    }
    throw new Error(message);
  }
  const candidates = answer.Candidates ?? [];
  if (answer.TaskSlot) {
    console.log(`Task ${props.TaskIdentifier} reads replication slot ${answer.TaskSlot} of ${props.DatabaseName}: recorded`);
    return { slot: answer.TaskSlot, candidates };
  }
  const warning = candidates.length > 1
    ? `Several active slots of ${props.DatabaseName} are read from the replication instance of ${props.TaskIdentifier} (${candidates.join(', ')}): `
      + 'the task\'s cannot be told apart, none is recorded. Give each task its own replication instance, or name the slot (slotName).'
    : `No active slot of ${props.DatabaseName} is read from the replication instance of ${props.TaskIdentifier} yet `
      + `(logical slots: ${(answer.Slots ?? []).map((s) => s.name).join(', ') || 'none'}); the delete looks for it again.`;
  console.log(warning);
  return { candidates, warning };
}

/** What a delete does: which slots to drop (when the task is stopped), and whether to stop the task first. */
async function planDelete(event: ProviderRequest, props: SlotCleanupProperties): Promise<Record<string, string>> {
  const recorded = parsePhysicalId(event.PhysicalResourceId);
  try {
    const taskArn = recorded.taskArn ?? props.TaskArn;
    const going = await taskIsDeleted(event, { ...props, TaskArn: taskArn });
    if (!going) {
      const current = await ownCurrentRecord(event);
      const stale = recorded.slot && current && current.taskArn === taskArn && current.slot !== recorded.slot && recorded.slot !== props.SlotName
        ? [recorded.slot] : [];
      console.log(stale.length > 0
        ? `Task ${props.TaskIdentifier} stays and now reads ${current?.slot ?? 'an unrecorded slot'}: dropping the slot it left, ${stale[0]}`
        : `Task ${props.TaskIdentifier} stays: its replication slot is kept`);
      return { Slots: stale.join(','), Deadline: String(timing.now() + DELETE_WAIT_MS) };
    }
    const names = new Set<string>([recorded.slot, props.SlotName].filter((s): s is string => Boolean(s)));
    const task = await describeTaskByArn(taskArn);
    const reading = task !== undefined && ['running', 'starting'].includes(task.Status ?? '');
    if (reading && !props.SlotName) {
      // the slot it reads now: a restart may have replaced the one recorded
      const answer = await relay(props, { Operation: 'inspect', ClientAddresses: addressesOf(props), WaitSeconds: 0 });
      if (answer.TaskSlot) names.add(answer.TaskSlot);
      if (!answer.Reachable) console.log(`Looking up the slot of ${props.TaskIdentifier}: ${answer.Error}`);
    }
    if (names.size === 0) {
      console.log(`WARNING: CloudFormation deletes task ${props.TaskIdentifier}, and no replication slot of it is known${reading ? '' : ' (it is not running)'}: `
        + `nothing is dropped. Look for a slot it left in ${props.DatabaseName}: SELECT slot_name, active FROM pg_replication_slots;`);
      return { Slots: '' };
    }
    console.log(`CloudFormation deletes task ${props.TaskIdentifier}: its replication slot(s) ${[...names].join(', ')} are dropped once it stopped`);
    const stop = task !== undefined && ruleFor(task.Status).toStop !== 'done';
    if (stop) {
      await requestStop(taskArn, task);
    }
    return { Slots: [...names].join(','), TaskArn: taskArn, StopTask: String(stop), Deadline: String(timing.now() + DELETE_WAIT_MS) };
  } catch (e) {
    console.log(`The replication-slot cleanup of ${props.TaskIdentifier} could not plan the delete (${errorMessage(e)}); `
      + `nothing is dropped.${recorded.slot ? ` Drop the slot by hand once the task is gone: SELECT pg_drop_replication_slot('${recorded.slot}');` : ''}`);
    return { Slots: '' };
  }
}

/**
 * Whether CloudFormation deletes the task in this operation: the stack is being deleted (or its
 * creation rolled back), the task left the template, or the template's task is another one (replaced).
 */
async function taskIsDeleted(event: ProviderRequest, props: SlotCleanupProperties): Promise<boolean> {
  const status = await stackStatus(event.StackId);
  if (status === 'DELETE_IN_PROGRESS' || status === 'ROLLBACK_IN_PROGRESS') {
    return true;
  }
  const resource = await stackResource(event.StackId, props.TaskLogicalId);
  if (!resource) {
    return true;
  }
  return (resource.ResourceStatus ?? '').startsWith('DELETE')
    || (resource.PhysicalResourceId !== undefined && resource.PhysicalResourceId !== props.TaskArn);
}

/** What this resource records now in the stack (after an update gave it a new physical id); undefined when it left the template. */
async function ownCurrentRecord(event: ProviderRequest): Promise<{ taskArn?: string; slot?: string } | undefined> {
  const resource = await stackResource(event.StackId, event.LogicalResourceId);
  return resource?.PhysicalResourceId ? parsePhysicalId(resource.PhysicalResourceId) : undefined;
}

let cloudFormationClient: CloudFormationClient | undefined;
async function stackResource(stackId: string, logicalId: string): Promise<StackResourceDetail | undefined> {
  cloudFormationClient ??= new CloudFormationClient({ maxAttempts: 8 });
  try {
    const result = await cloudFormationClient.send(new DescribeStackResourceCommand({ StackName: stackId, LogicalResourceId: logicalId }));
    return result.StackResourceDetail;
  } catch (e) {
    if (isError(e, 'ValidationError') && /does not exist/.test(errorMessage(e))) {
      return undefined;
    }
    throw e;
  }
}

async function requestStop(taskArn: string, task: ReplicationTask): Promise<void> {
  if (ruleFor(task.Status).toStop !== 'act') {
    return;
  }
  try {
    await stopTask(taskArn);
    console.log(`StopReplicationTask ${task.ReplicationTaskIdentifier} requested: its slot can be dropped once it stopped`);
  } catch (e) {
    if (!isError(e, 'InvalidResourceStateFault')) throw e;
    console.log(`StopReplicationTask ${task.ReplicationTaskIdentifier} not accepted now (${errorMessage(e)}); looking again`);
  }
}

/** Whether the task no longer reads its slot (stopped, failed, never ran, or gone); asks again to stop it while it runs. */
async function taskStopped(taskArn: string): Promise<boolean> {
  const task = await describeTaskByArn(taskArn);
  if (!task) {
    return true;
  }
  const step = ruleFor(task.Status).toStop;
  if (step === 'act') {
    await requestStop(taskArn, task);
  }
  return step === 'done';
}

let sfnClient: SFNClient | undefined;

/** Runs one operation of the slot function in the replication network, through the relay state machine. */
export async function relay(props: SlotCleanupProperties, request: Pick<SlotRequest, 'Operation' | 'ClientAddresses' | 'WaitSeconds' | 'SlotNames'>): Promise<SlotResponse> {
  sfnClient ??= new SFNClient({ maxAttempts: 4 });
  const input: SlotRequest = {
    ...request,
    SecretArn: props.SourceSecretArn,
    Database: props.DatabaseName,
    ...(props.SourceCaBundle ? { CaBundle: props.SourceCaBundle } : {}),
  };
  const result = await sfnClient.send(new StartSyncExecutionCommand({ stateMachineArn: props.RelayArn, input: JSON.stringify(input) }));
  if (result.status !== 'SUCCEEDED') {
    throw new Error(`the slot function did not answer (${result.status}): ${result.error ?? ''} ${result.cause ?? ''}`.trim());
  }
  return JSON.parse(result.output ?? '{}') as SlotResponse;
}

function warnLeft(props: SlotCleanupProperties, names: string[], why: string): void {
  console.log(`WARNING: replication slot(s) ${names.join(', ')} of ${props.DatabaseName} (task ${props.TaskIdentifier}) were not dropped: ${why}. `
    + 'They keep WAL on the source until dropped: once nothing reads them, run '
    + names.map((n) => `SELECT pg_drop_replication_slot('${n}');`).join(' '));
}

function properties(event: ProviderRequest): SlotCleanupProperties {
  return event.ResourceProperties as unknown as SlotCleanupProperties;
}

/** The instance's addresses: CloudFormation gives them comma-separated. */
export function addressesOf(props: SlotCleanupProperties): string[] {
  return listOf(props.ReplicationInstanceAddresses);
}

function listOf(value: string | string[] | undefined): string[] {
  const items = Array.isArray(value) ? value : String(value ?? '').split(',');
  return items.map((s) => s.trim()).filter((s) => s.length > 0);
}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
