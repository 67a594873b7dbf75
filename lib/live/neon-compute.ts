import { Annotations, CustomResource, Duration, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct } from 'constructs';
import { NEON_COMPUTE_KEEP_ALIVE_TYPE } from './kinds';
import { DEFAULT_NEON_API_BASE_URL } from '../neon/neon-api';
import { MigrationProvider } from '../provider/provider';
import { completeSecretArn, secretArnForPolicies } from '../secrets/complete-arn';

/** Neon's documented bounds of `suspend_timeout_seconds` (1 minute to 1 week). */
const MIN_SUSPEND_SECONDS = 60;
const MAX_SUSPEND_SECONDS = 604_800;

/**
 * How the Neon compute a migration writes to is kept from suspending while the migration runs.
 */
export interface NeonComputeOptions {
  /** Neon project id, e.g. `crimson-sun-12345678` (project Settings page). */
  readonly projectId: string;

  /**
   * Secret holding a Neon API key that may change the project's computes. Read by the deploy-time
   * handler; the key never appears in the template or in logs.
   */
  readonly apiKeySecret: secretsmanager.ISecret;

  /**
   * JSON field of `apiKeySecret` holding the API key, e.g. `NEON_API_KEY`.
   *
   * @default - the secret holds the plain API key
   */
  readonly apiKeySecretField?: string;

  /**
   * Base URL of the Neon API.
   *
   * @default 'https://console.neon.tech/api/v2'
   */
  readonly apiBaseUrl?: string;

  /**
   * How long the compute may stay idle before it suspends while the migration runs: 1 minute to 7
   * days. Only Neon's Scale plan sets a delay other than its 5 minutes; the Launch plan can only turn
   * scale to zero off (leave this out).
   *
   * @default - the compute never suspends while the migration runs (Launch and Scale plans)
   */
  readonly suspendTimeout?: Duration;
}

/**
 * Properties of a `NeonComputeKeepAlive`.
 */
export interface NeonComputeKeepAliveProps extends NeonComputeOptions {
  /**
   * The Neon compute endpoint DMS writes to, e.g. `ep-cool-darkness-123456`: the first label of
   * its host (`NeonTargetEndpoint.neonEndpointId`).
   */
  readonly neonEndpointId: string;
}

/**
 * Keeps a Neon compute from suspending while a migration writes to it, and gives it its setting back
 * when the migration is removed from the stack.
 *
 * Neon suspends a compute after 5 idle minutes (scale to zero) and closes its connections; a change
 * data capture task on a quiet source would lose its target connection every time. At deploy time a
 * custom resource of the stack's shared provider reads the compute's `suspend_timeout_seconds`,
 * writes the migration's value (`-1`, never suspend, unless `suspendTimeout` says otherwise) with
 * the Neon API's `PATCH /projects/{project_id}/endpoints/{endpoint_id}`, and waits for the
 * operations Neon starts. On delete it writes the value it found back, unless someone changed the
 * setting since. Neon's Free plan allows no change: the deployment then fails saying so.
 *
 * A compute that never suspends still gets Neon's updates: Neon restarts it in the project's update
 * window (paid plans), which closes its connections for a few seconds; DMS reconnects
 * (`RecoverableErrorCount`). Choose an update window away from the cut-over.
 *
 * `DmsMigrationTask` creates one with `neonCompute` and makes the task start wait for it.
 *
 * @example
 * import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
 * import { NeonComputeKeepAlive, NeonTargetEndpoint } from 'cdk-neon-migration';
 *
 * declare const neon: NeonTargetEndpoint;
 *
 * new NeonComputeKeepAlive(this, 'KeepNeonActive', {
 *   projectId: 'crimson-sun-12345678',
 *   neonEndpointId: neon.neonEndpointId,
 *   apiKeySecret: secretsmanager.Secret.fromSecretNameV2(this, 'NeonApiKey', 'neon/api-key'),
 * });
 */
export class NeonComputeKeepAlive extends Construct {
  /** Id of the warning `addManualStepWarning` adds. */
  public static readonly MANUAL_STEP_WARNING = 'cdk-neon-migration:neonComputeSuspends';

  /**
   * Warns on `scope` that the Neon compute `neonEndpointId` suspends after 5 idle minutes, for a
   * change data capture migration that has no Neon API key to keep it active: the user turns scale
   * to zero off by hand (and acknowledges the warning).
   */
  public static addManualStepWarning(scope: IConstruct, neonEndpointId: string): void {
    const compute = Token.isUnresolved(neonEndpointId) ? 'the target\'s Neon compute' : `the Neon compute ${neonEndpointId}`;
    Annotations.of(scope).addWarningV2(NeonComputeKeepAlive.MANUAL_STEP_WARNING,
      `${compute} suspends after 5 idle minutes (scale to zero) and closes DMS's connections whenever the source is quiet. Give neonCompute `
      + '(a Neon API key) to keep it active during the migration, or turn scale to zero off yourself before the task starts (Neon console: '
      + 'Branches, the branch, Computes, Edit) and back on after the cut-over, then acknowledge this warning. Neon\'s Free plan cannot turn it off.');
  }

  /** The custom resource that sets the compute's scale-to-zero setting (and restores it on delete). */
  public readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: NeonComputeKeepAliveProps) {
    super(scope, id);

    const projectId = props.projectId;
    if (!Token.isUnresolved(projectId) && !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(projectId)) {
      throw new Error(`NeonComputeKeepAlive: projectId '${projectId}' is not a Neon project id (e.g. crimson-sun-12345678): copy it from the project's Settings page.`);
    }
    const endpointId = props.neonEndpointId;
    if (!Token.isUnresolved(endpointId) && (!/^ep-[a-z0-9]+(-[a-z0-9]+)*$/.test(endpointId) || endpointId.endsWith('-pooler'))) {
      throw new Error(`NeonComputeKeepAlive: neonEndpointId '${endpointId}' is not a Neon compute endpoint id (e.g. ep-cool-darkness-123456): `
        + 'use the first label of the target\'s host, without -pooler.');
    }
    const apiBaseUrl = props.apiBaseUrl ?? DEFAULT_NEON_API_BASE_URL;
    if (!Token.isUnresolved(apiBaseUrl) && !/^https:\/\/[^/\s]+/.test(apiBaseUrl)) {
      throw new Error(`NeonComputeKeepAlive: apiBaseUrl '${apiBaseUrl}' must be an https:// URL such as ${DEFAULT_NEON_API_BASE_URL}: the API key is sent with every request.`);
    }
    const seconds = suspendTimeoutSeconds(props.suspendTimeout);

    const provider = MigrationProvider.of(this);
    const secret = props.apiKeySecret;
    const statements = [new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretArnForPolicies(secret)] })];
    if (secret.encryptionKey) {
      statements.push(new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [secret.encryptionKey.keyArn] }));
    }
    for (const statement of statements) {
      provider.role.addToPrincipalPolicy(statement);
    }

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: NEON_COMPUTE_KEEP_ALIVE_TYPE,
      properties: {
        ProjectId: projectId,
        EndpointId: endpointId,
        ApiKeySecretArn: completeSecretArn(this, secret, 'neonCompute.apiKeySecret'),
        ApiKeySecretField: props.apiKeySecretField,
        ApiBaseUrl: apiBaseUrl,
        SuspendTimeoutSeconds: seconds,
      },
    });
  }

  /** The compute's setting while the migration runs, as the resource wrote it (`-1`: never suspends). */
  public get suspendTimeoutSeconds(): string {
    return this.resource.getAttString('SuspendTimeoutSeconds');
  }

  /** The setting the compute had before, written back on delete. */
  public get restoreSuspendTimeoutSeconds(): string {
    return this.resource.getAttString('RestoreSuspendTimeoutSeconds');
  }

  /** The branch of the compute (`br-...`), as the Neon API named it at deploy time; empty when it did not answer. */
  public get branchId(): string {
    return this.resource.getAttString('BranchId');
  }

  /** The branch's logical size in bytes at deploy time (for the preflight's storage check). */
  public get branchLogicalSizeBytes(): string {
    return this.resource.getAttString('BranchLogicalSizeBytes');
  }

  /** The lowest limit on the branch's logical size in bytes; empty when it has none. */
  public get branchLogicalSizeLimitBytes(): string {
    return this.resource.getAttString('BranchLogicalSizeLimitBytes');
  }

  /** Which project setting `branchLogicalSizeLimitBytes` comes from. */
  public get branchLogicalSizeLimitSource(): string {
    return this.resource.getAttString('BranchLogicalSizeLimitSource');
  }
}

/** `-1` (never) or the seconds of `timeout`, checked against Neon's bounds. */
function suspendTimeoutSeconds(timeout: Duration | undefined): string {
  if (timeout === undefined) {
    return '-1';
  }
  const seconds = timeout.toSeconds();
  if (Token.isUnresolved(seconds)) {
    return Token.asString(seconds);
  }
  if (!Number.isInteger(seconds) || seconds < MIN_SUSPEND_SECONDS || seconds > MAX_SUSPEND_SECONDS) {
    throw new Error(`NeonComputeKeepAlive: suspendTimeout is ${timeout.toHumanString()}; use 1 minute to 7 days (Neon's bounds, on the Scale plan), `
      + 'or leave it out so the compute never suspends while the migration runs.');
  }
  return String(seconds);
}
