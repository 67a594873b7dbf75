import { Annotations, ArnFormat, CustomResource, Duration, Lazy, Stack, Tags, Token } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IDependable } from 'constructs';
import { PROPERTIES_HASH_TAG, SERVERLESS_LIFECYCLE_TYPE } from './kinds';
import { IMigrationLifecycle, TaskUpdateBehavior } from './migration-lifecycle';
import { validateResolvedIdentifier } from '../core/identifiers';
import { nagFindingId } from '../core/nag';
import { LoadCompletion } from '../provider/load-wait';
import { resolvedHash, validateMaxWait, waitsThroughCondition } from '../provider/options';
import { MigrationProvider } from '../provider/provider';

/** The `Role` property values the handler tells the two resources apart by (see serverless-lifecycle.handler.ts). */
const ROLE_STOPPER = 'Stopper';
const ROLE_LIFECYCLE = 'Lifecycle';


/**
 * Properties of a `ServerlessReplicationLifecycle`.
 */
export interface ServerlessReplicationLifecycleProps {
  /**
   * The DMS Serverless replication configuration to start, stop and keep deployable. Its
   * `replicationConfigIdentifier` must be a literal string: the stop before an update finds the
   * replication by it.
   */
  readonly replicationConfig: dms.CfnReplicationConfig;

  /**
   * Start the replication when it is first deployed.
   *
   * @default true
   */
  readonly startOnDeploy?: boolean;

  /**
   * Keep the deployment waiting until the full load completed: a `full-load` replication stopped
   * with `FULL_LOAD_ONLY_FINISHED`, a `full-load-and-cdc` one at 100 % and replicating changes.
   * The deployment fails when the replication fails or reports errored tables.
   *
   * @default false - the deployment completes as soon as the replication runs
   */
  readonly waitForCompletion?: boolean;

  /**
   * With `waitForCompletion`, how long to wait for the full load before the deployment completes
   * anyway (the load continues). At most 11 hours 45 minutes; over 55 minutes the wait goes through
   * a wait condition, as for `ReplicationTaskLifecycle`.
   *
   * @default Duration.minutes(50)
   */
  readonly maxWait?: Duration;

  /**
   * What to do with a replication that ran before after a deployment changed it. DMS cannot
   * resume a `full-load` replication: with `RESUME` it stays stopped after a change.
   *
   * @default TaskUpdateBehavior.RESUME
   */
  readonly onUpdate?: TaskUpdateBehavior;

  /**
   * Where CDC stops (`server_time:YYYY-MM-DDTHH:MM:SS` or `commit_time:…`), passed to
   * `StartReplication`.
   *
   * @default - CDC runs until the replication is stopped
   */
  readonly cdcStopPosition?: string;

  /**
   * What must exist before the replication starts (the route from the replication subnets to the
   * internet, the Neon IP Allow entry).
   *
   * @default - the start waits only for the replication configuration
   */
  readonly startAfter?: IDependable[];
}

/**
 * Starts a DMS Serverless replication (`AWS::DMS::ReplicationConfig`) on deploy with
 * `StartReplication`, and stops it with `StopReplication` whenever CloudFormation must modify or
 * delete the configuration: DMS modifies and deletes only a configuration that is created,
 * stopped or failed.
 *
 * The ordering is the one `ReplicationTaskLifecycle` uses, with one resource type
 * (`Custom::DmsServerlessLifecycle`) in two roles:
 *
 * 1. the stopper — the CONFIGURATION depends on it, so CloudFormation updates it first. It carries
 *    the identifier, the endpoint ARNs and a SHA-256 hash of the configuration's properties; when
 *    one changes, it finds the replication by identifier (`DescribeReplications`), stops it and
 *    waits until it is stopped (under the old identifier when the configuration is renamed);
 * 2. CloudFormation modifies (or creates) the configuration;
 * 3. the lifecycle resource — it depends on the configuration: on create it starts the
 *    replication (`start-replication`), after a change it resumes or reloads it per `onUpdate`,
 *    with `waitForCompletion` it waits for the full load; on delete it stops the replication and
 *    waits, before CloudFormation deletes the configuration.
 *
 * There is no deploy-time connection test: `TestConnection` needs a replication instance. DMS
 * Serverless tests both endpoints itself when the replication starts (`testing_connection`), and
 * a failed test fails the deployment with DMS's message.
 *
 * The stopper runs before the configuration exists, so no permission names its ARN: the construct
 * tags the configuration with `cdk-neon-migration:lifecycle` = the stack id, and the shared
 * provider role may start and stop the replication configurations carrying that tag (one statement
 * for all of them in the stack, in the role's default policy).
 *
 * @example
 * import { NatEgressForReplication, ServerlessReplication, ServerlessReplicationLifecycle } from 'cdk-neon-migration';
 *
 * declare const replication: ServerlessReplication;
 * declare const network: NatEgressForReplication;
 *
 * new ServerlessReplicationLifecycle(this, 'Lifecycle', {
 *   replicationConfig: replication.resource,
 *   startAfter: [network.egressReady],
 * });
 */
export class ServerlessReplicationLifecycle extends Construct implements IMigrationLifecycle {
  /**
   * Tag key the construct adds to the configuration, with the stack id as value; the handlers'
   * permissions on replication configurations are conditioned on it.
   */
  public static readonly TAG_KEY = MigrationProvider.TAG_KEY;

  /** The configuration's identifier, in lower case as DMS stores it. */
  public readonly replicationConfigIdentifier: string;
  /** ARN of the configuration. */
  public readonly replicationConfigArn: string;
  public readonly resource: CustomResource;
  public readonly stopper: CustomResource;
  public readonly completion: IDependable;

  constructor(scope: Construct, id: string, props: ServerlessReplicationLifecycleProps) {
    super(scope, id);

    const config = props.replicationConfig;
    // optional in the CloudFormation schema of older aws-cdk-lib releases
    const identifier: string | undefined = config.replicationConfigIdentifier;
    if (identifier === undefined) {
      throw new Error('ServerlessReplicationLifecycle: replicationConfig.replicationConfigIdentifier must be a literal string '
        + '(e.g. \'neon-migration\'): the stop before an update finds the replication by its identifier.');
    }
    // a token must resolve to a literal at synth (DmsMigrationTask's generated identifiers do)
    validateResolvedIdentifier(this, 'ServerlessReplicationLifecycle', 'replicationConfig.replicationConfigIdentifier', identifier, 255);
    const waitForCompletion = props.waitForCompletion ?? false;
    const maxWaitSeconds = validateMaxWait('ServerlessReplicationLifecycle', props.maxWait);
    if (props.maxWait && !waitForCompletion) {
      Annotations.of(this).addWarningV2('cdk-neon-migration:lifecycleMaxWaitIgnored',
        'maxWait only applies with waitForCompletion: true; it is ignored.');
    }

    this.replicationConfigIdentifier = Token.isUnresolved(identifier) ? identifier : identifier.toLowerCase();
    this.replicationConfigArn = config.attrReplicationConfigArn;

    const provider = MigrationProvider.of(this);
    Tags.of(config).add(ServerlessReplicationLifecycle.TAG_KEY, provider.tagValue);
    // CloudFormation writes the hash with every modification: a rollback's handlers read it to tell
    // whether the configuration has been restored yet
    Tags.of(config).add(PROPERTIES_HASH_TAG, Lazy.string({ produce: () => configurationHash(config) }));
    grantReplicationControl(provider);
    const common = {
      ReplicationConfigIdentifier: this.replicationConfigIdentifier,
      PropertiesHash: Lazy.string({ produce: () => configurationHash(config) }),
      SourceEndpointArn: config.sourceEndpointArn,
      TargetEndpointArn: config.targetEndpointArn,
      ConfigLogicalId: Lazy.string({ produce: () => Stack.of(config).getLogicalId(config) }),
    };

    const restart = {
      ReplicationType: config.replicationType,
      StartOnDeploy: String(props.startOnDeploy ?? true),
      OnUpdate: props.onUpdate ?? TaskUpdateBehavior.RESUME,
      CdcStopPosition: props.cdcStopPosition,
    };
    // The stopper runs before the configuration in the graph (and is rolled back after it); it finds
    // the replication by identifier, and starts it again after a rollback as `restart` says.
    this.stopper = new CustomResource(this, 'Stopper', {
      serviceToken: provider.serviceToken,
      resourceType: SERVERLESS_LIFECYCLE_TYPE,
      properties: { Role: ROLE_STOPPER, ...common, ...restart },
    });
    config.node.addDependency(this.stopper);

    const completion = waitForCompletion && waitsThroughCondition(maxWaitSeconds)
      ? new LoadCompletion(this, 'LoadCompletion', {
        maxWaitSeconds,
        identity: () => ({ Configuration: configurationHash(config), MaxWait: maxWaitSeconds }),
      })
      : undefined;

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: SERVERLESS_LIFECYCLE_TYPE,
      properties: {
        ...completion?.properties,
        Role: ROLE_LIFECYCLE,
        ...common,
        ...restart,
        ReplicationConfigArn: this.replicationConfigArn,
        WaitForCompletion: String(waitForCompletion),
        MaxWaitSeconds: Token.isUnresolved(maxWaitSeconds) ? Token.asString(maxWaitSeconds) : String(maxWaitSeconds),
      },
    });
    this.resource.node.addDependency(config);
    this.completion = completion ? completion.waitFor(this.resource) : this.resource;
    this.addStartDependency(...(props.startAfter ?? []));
  }

  /** Start the replication only after `dependables` exist (the NAT route, the IP Allow entry). */
  public addStartDependency(...dependables: IDependable[]): void {
    this.resource.node.addDependency(...dependables);
  }

  /** The replication's status after the deployment (`running`, or `stopped` for a finished full load). */
  public get status(): string {
    return this.resource.getAttString('Status');
  }
}

/**
 * What both custom resources need, for every serverless replication of the stack at once: the
 * configurations carry the provider's tag with the stack id as value. Added once per stack to the
 * handler role's default policy, which the handler functions (and so both custom resources) come
 * after. Naming a configuration ARN there instead would close a cycle: configuration → stopper →
 * handler functions → role policy → configuration.
 */
function grantReplicationControl(provider: MigrationProvider): void {
  const configs = Stack.of(provider).formatArn({
    service: 'dms', resource: 'replication-config', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  provider.grantOnce('dms:serverless-replication-control', () => [
    new iam.PolicyStatement({
      actions: ['dms:StartReplication', 'dms:StopReplication', 'dms:ListTagsForResource'],
      resources: [configs],
      conditions: { StringEquals: { [`dms:replication-config-tag/${MigrationProvider.TAG_KEY}`]: provider.tagValue } },
    }),
    new iam.PolicyStatement({
      // DescribeReplications supports no resource-level permissions; it only reads replication status
      actions: ['dms:DescribeReplications'],
      resources: ['*'],
    }),
  ], [{
    id: nagFindingId(provider, 'AwsSolutions-IAM5', 'Resource', configs),
    reason: 'Starting and stopping DMS Serverless replications is limited by condition to the replication configurations tagged with this stack\'s id; the stopper runs before the configuration exists and cannot name its ARN.',
  }]);
}

/**
 * SHA-256 of the configuration's properties (all of them are modified in place, and a
 * modification needs the replication stopped), resolved: tokens are hashed as their
 * CloudFormation expressions. Tags are left out: tagging works on a running replication.
 */
function configurationHash(config: dms.CfnReplicationConfig): string {
  return resolvedHash(config, {
    ReplicationConfigIdentifier: config.replicationConfigIdentifier,
    ReplicationType: config.replicationType,
    SourceEndpointArn: config.sourceEndpointArn,
    TargetEndpointArn: config.targetEndpointArn,
    TableMappings: config.tableMappings,
    ReplicationSettings: config.replicationSettings,
    SupplementalSettings: config.supplementalSettings,
    ComputeConfig: config.computeConfig,
    ResourceIdentifier: config.resourceIdentifier,
  });
}
