// The AWS SDK comes from the Lambda runtime: the handler bundles mark it external.
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { BatchGetBuildsCommand, Build, CodeBuildClient, StartBuildCommand } from '@aws-sdk/client-codebuild';
import { errorMessage, isError } from '../core/api-calls';
import { describeReplicationByArn, replicationFinished } from '../dms-api/dms-replication';
import { describeTaskByArn, ruleFor, startTask, stoppedBecauseFinished } from '../dms-api/dms-task';
import type { IsCompleteResult, OnEventResult, ProviderRequest } from '../provider/handler-types';

/** Properties of a `Custom::NeonSchemaCopy` resource (CloudFormation passes every value as a string). */
export interface SchemaCopyProperties {
  /** The CodeBuild project that runs the schema tool. */
  readonly ProjectName: string;
  /** The tool's steps, in order, separated by spaces: `pre`, `post sequences`, `indexes`, `constraints sequences`. */
  readonly Steps: string;
  /** The task's DMS table mapping (JSON): which tables the steps copy. */
  readonly TableMappings: string;
  /** Changing it runs the steps again. */
  readonly Refresh?: string;
  /**
   * The replication task, or DMS Serverless replication configuration, whose full load the steps
   * follow: they refuse to run while it still loads.
   */
  readonly LoadArn?: string;
  /**
   * A task stopped after its full load, before applying the cached changes
   * (`StopTaskCachedChangesNotApplied`): resumed once the steps succeeded.
   */
  readonly ResumeTaskArn?: string;
}

/** Lines of the build log a failure message carries: the tool's own messages come last. */
const LOG_LINES = 12;
/** The longest failure message: CloudFormation shows the reason of a failed resource (4 KB response). */
const MAX_MESSAGE = 1500;

let codeBuildClient: CodeBuildClient | undefined;
function codeBuild(): CodeBuildClient {
  codeBuildClient ??= new CodeBuildClient({ maxAttempts: 8 });
  return codeBuildClient;
}

let logsClient: CloudWatchLogsClient | undefined;
function logs(): CloudWatchLogsClient {
  logsClient ??= new CloudWatchLogsClient({ maxAttempts: 8 });
  return logsClient;
}

/*
 * Create (and an update that changes Refresh): start a build of the project
 * with the steps and the table mapping as environment variables (the connection details come from
 * Secrets Manager into the build, never through here); isComplete waits for the build, fails with
 * the end of the build log (the tool's own message) when it failed, and then resumes the task when
 * one waits after its full load. Other updates and Delete: nothing (the schema stays in Neon).
 */
export async function onEvent(event: ProviderRequest): Promise<OnEventResult> {
  const props = event.ResourceProperties as unknown as SchemaCopyProperties;
  const physicalId = event.PhysicalResourceId ?? `schema-copy:${props.ProjectName}:${props.Steps}`;
  if (event.RequestType === 'Delete' || (event.RequestType === 'Update' && !runsAgain(event))) {
    console.log(`${event.RequestType}: no schema step to run`);
    return { PhysicalResourceId: physicalId, Data: { BuildId: '' } };
  }
  if (props.LoadArn) {
    await requireFullLoadFinished(props.LoadArn, props.Steps);
  }
  const result = await codeBuild().send(new StartBuildCommand({
    projectName: props.ProjectName,
    environmentVariablesOverride: [
      { name: 'SCHEMA_STEPS', value: props.Steps, type: 'PLAINTEXT' },
      { name: 'TABLE_MAPPINGS', value: props.TableMappings, type: 'PLAINTEXT' },
    ],
  }));
  const buildId = result.build?.id;
  if (!buildId) {
    throw new Error(`CodeBuild started no build of ${props.ProjectName}.`);
  }
  console.log(`Schema steps '${props.Steps}' started: build ${buildId}`);
  return { PhysicalResourceId: physicalId, Data: { BuildId: buildId } };
}

/**
 * Whether an update runs the steps again: only when Refresh changed. The steps ran when the resource
 * was created; running them again on a changed selection would fail on the tables they created
 * (the pre-data step refuses existing tables, the others existing indexes), so that is the user's
 * explicit decision, after dropping what is to be created again.
 */
export function runsAgain(event: ProviderRequest): boolean {
  const props = event.ResourceProperties as unknown as SchemaCopyProperties;
  const old = (event.OldResourceProperties ?? {}) as Partial<SchemaCopyProperties>;
  return old.Refresh !== props.Refresh;
}

export async function isComplete(event: ProviderRequest): Promise<IsCompleteResult> {
  const props = event.ResourceProperties as unknown as SchemaCopyProperties;
  const buildId = event.Data?.BuildId as string | undefined;
  if (!buildId) {
    return { IsComplete: true };
  }
  if (event.Data?.BuildStatus !== 'SUCCEEDED') {
    const build = (await codeBuild().send(new BatchGetBuildsCommand({ ids: [buildId] }))).builds?.[0];
    const status = build?.buildStatus ?? 'IN_PROGRESS';
    console.log(`Build ${buildId}: ${status} (${build?.currentPhase ?? 'queued'})`);
    if (status === 'IN_PROGRESS') {
      return { IsComplete: false };
    }
    if (status !== 'SUCCEEDED') {
      throw new Error(`Schema steps '${props.Steps}' failed (build ${buildId}, ${status}): ${await failureOf(build)}`);
    }
  }
  if (!props.ResumeTaskArn) {
    return { IsComplete: true, Data: { BuildStatus: 'SUCCEEDED' } };
  }
  // the Provider framework refuses Data with IsComplete false: each poll reads the build again
  return await resumeStep(props.ResumeTaskArn) ? { IsComplete: true, Data: { BuildStatus: 'SUCCEEDED' } } : { IsComplete: false };
}

/** Full-load statistics of a task or a serverless replication. */
interface LoadState {
  readonly name: string;
  readonly status?: string;
  readonly finished: boolean;
  readonly percent?: number;
}

/**
 * Fails unless the full load finished: the task stopped because it finished (a full load, or a
 * configured stop after it), or it runs with every table loaded (CDC after the load). The lifecycle
 * stops waiting at maxWait while the load goes on; steps that create foreign keys and indexes then
 * would meet DMS's writes, so they refuse, saying what to do.
 */
async function requireFullLoadFinished(arn: string, steps: string): Promise<void> {
  const state = await loadState(arn);
  console.log(`Full load of ${state.name}: ${state.status ?? 'unknown'}, ${state.percent ?? 0}%${state.finished ? ', finished' : ''}`);
  if (!state.finished) {
    throw new Error(`The full load of ${state.name} has not finished (${state.status ?? 'not found'}, ${state.percent ?? 0}% loaded): `
      + `the deployment stopped waiting for it at maxWait, and the schema steps '${steps}' must not run while DMS loads. `
      + 'Raise maxWait (up to 12 hours) and deploy again, or run the steps by hand with cdk-neon-migration schema once the load ended.');
  }
}

async function loadState(arn: string): Promise<LoadState> {
  const loaded = (stats: { FullLoadProgressPercent?: number; TablesLoading?: number; TablesQueued?: number } | undefined) =>
    (stats?.FullLoadProgressPercent ?? 0) >= 100 && (stats?.TablesLoading ?? 0) === 0 && (stats?.TablesQueued ?? 0) === 0;
  if (/:replication-config:/.test(arn)) {
    const replication = await describeReplicationByArn(arn);
    if (!replication) return { name: arn, finished: false };
    const status = replication.Status?.toLowerCase();
    return {
      name: replication.ReplicationConfigIdentifier ?? arn,
      status: replication.Status,
      percent: replication.ReplicationStats?.FullLoadProgressPercent,
      finished: replicationFinished(replication) || (status === 'running' && loaded(replication.ReplicationStats)),
    };
  }
  const task = await describeTaskByArn(arn);
  if (!task) return { name: arn, finished: false };
  return {
    name: task.ReplicationTaskIdentifier ?? arn,
    status: task.Status,
    percent: task.ReplicationTaskStats?.FullLoadProgressPercent,
    finished: (task.Status === 'stopped' && stoppedBecauseFinished(task)) || (task.Status === 'running' && loaded(task.ReplicationTaskStats)),
  };
}

/** The end of the build's log, where the tool writes its own message, or CodeBuild's phase messages. */
async function failureOf(build: Build | undefined): Promise<string> {
  const group = build?.logs?.groupName;
  const stream = build?.logs?.streamName;
  let text = '';
  if (group && stream) {
    try {
      const events = await logs().send(new GetLogEventsCommand({ logGroupName: group, logStreamName: stream, startFromHead: false, limit: 50 }));
      const lines = (events.events ?? []).map(e => (e.message ?? '').trimEnd()).filter(line => line.length > 0 && !/^\[Container\]/.test(line));
      text = lines.slice(-LOG_LINES).join(' | ');
    } catch (e) {
      console.log(`The build log could not be read: ${errorMessage(e)}`);
    }
  }
  if (!text) {
    text = (build?.phases ?? []).flatMap(p => (p.contexts ?? []).map(c => c.message ?? '')).filter(m => m.length > 0).join(' | ')
      || 'the build log holds no message';
  }
  return text.length > MAX_MESSAGE ? `…${text.slice(-MAX_MESSAGE)}` : text;
}

/** Resumes the task stopped after its full load (it applies the cached changes and continues with CDC); true when running. */
async function resumeStep(taskArn: string): Promise<boolean> {
  const task = await describeTaskByArn(taskArn);
  if (!task) {
    throw new Error(`Replication task ${taskArn} not found: it cannot be resumed after the schema steps.`);
  }
  const rule = ruleFor(task.Status);
  console.log(`Task ${task.ReplicationTaskIdentifier} is ${task.Status}: ${rule.reason} → ${rule.toRun}`);
  switch (rule.toRun) {
    case 'done':
      return true;
    case 'fail':
      throw new Error(`Replication task ${task.ReplicationTaskIdentifier} cannot be resumed after the schema steps: it is ${task.Status} (${rule.reason}).`);
    case 'wait':
      return false;
    default:
      try {
        await startTask(taskArn, 'resume-processing');
        console.log(`Task ${task.ReplicationTaskIdentifier} resumed: it applies the cached changes, then replicates changes`);
      } catch (e) {
        if (!isError(e, 'InvalidResourceStateFault')) {
          throw e;
        }
        console.log(`Resuming ${task.ReplicationTaskIdentifier} not accepted now (${errorMessage(e)}); polling again`);
      }
      return false;
  }
}
