import { CustomResource, Lazy, Stack, Token } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { REPLICATION_SLOT_CLEANUP_TYPE } from './kinds';
import { SlotFunction } from './slot-function';
import { IReplicationNetwork } from '../core/interfaces';
import { openSourceDatabases } from '../core/open-database';
import { ReplicationTaskLifecycle } from '../lifecycle/task-lifecycle';
import { resolvedHash } from '../provider/options';
import { MigrationProvider } from '../provider/provider';
import { IReplicationInstance, ReplicationInstance } from '../replication/replication-instance';
import { completeSecretArn } from '../secrets/complete-arn';
import { PostgresSourceEndpoint } from '../sources/postgres';

/**
 * Properties of a `ReplicationSlotCleanup`.
 */
export interface ReplicationSlotCleanupProps {
  /** The PostgreSQL source of the task: its secret, database and `slotName` are used, and its database is opened to the slot function. */
  readonly source: PostgresSourceEndpoint;

  /** The replication task (`cdc` or `full-load-and-cdc`) whose slot is recorded, and dropped when CloudFormation deletes the task. */
  readonly replicationTask: dms.CfnReplicationTask;

  /**
   * The task's lifecycle: the slot is recorded after it started the task, and dropped before it
   * stops and CloudFormation deletes the task (this construct stops the task first).
   */
  readonly lifecycle: ReplicationTaskLifecycle;

  /** The replication instance running the task: the walsender of the task's slot connects from its addresses. */
  readonly replicationInstance: IReplicationInstance;

  /**
   * Where the slot function runs: its replication subnets and security group, which reach the
   * source database (and Secrets Manager through its endpoint or the NAT route). The first cleanup of
   * a stack decides this for every cleanup of the stack.
   */
  readonly network: IReplicationNetwork;

  /**
   * The private IP addresses of `replicationInstance`, for an instance created outside this library.
   *
   * @default - the private addresses of `replicationInstance` when it is a `ReplicationInstance`
   * (`ReplicationInstancePrivateIpAddresses`); required otherwise, unless the source names its slot
   * (`slotName`)
   */
  readonly replicationInstanceAddresses?: string[];

  /**
   * PEM certificate bundle that signs the source's TLS certificate (for Amazon RDS, the regional
   * bundle from https://truststore.pki.rds.amazonaws.com).
   *
   * @default - TLS without certificate verification (like `sslmode=require`)
   */
  readonly sourceCaBundle?: string;
}

/**
 * Drops the logical replication slot a CDC task left on its PostgreSQL source when CloudFormation
 * deletes the task (stack deletion, or a replacement of the task), so the source stops keeping WAL
 * for a reader that is gone.
 *
 * DMS creates a slot when a CDC task starts and leaves it when the task stops or is deleted: "Slots
 * open automatically as soon as a task starts and remain open even when the task is no longer
 * running. Make sure to manually delete open slots." (AWS DMS User Guide, CHAP_Source.PostgreSQL).
 * It names the slot itself, by no documented rule, and recreates it when the task restarts from
 * the beginning. So the slot is recognised while the task reads it: after the task's lifecycle
 * started it (and after every change CloudFormation makes to the task), a custom resource of the
 * stack's shared provider asks the slot function — a Lambda function in the replication subnets —
 * for the one logical slot of the task's database, decoded with `test_decoding` or `pglogical`,
 * whose walsender connects from the task's replication instance, and records its name. With the
 * source endpoint's `slotName` the slot is known by name.
 *
 * When CloudFormation deletes the task, the custom resource (deleted before the lifecycle) looks up
 * the slot once more while the task runs, stops the task, waits until it stopped, and drops its
 * slots where that is safe: a slot is dropped by name only when it is logical, of the task's
 * database, decoded with a DMS plugin and inactive — never an active slot, never another task's. The
 * provider's log says what was dropped, how much WAL each slot kept and how much the source may now
 * remove. A delete never fails: when the source cannot be reached, the log names the slots and the
 * statement to drop them. A source the slot function cannot reach at create time fails the
 * deployment, where it can be fixed.
 *
 * @example
 * import * as dms from 'aws-cdk-lib/aws-dms';
 * import {
 *   NatEgressForReplication, PostgresSourceEndpoint, ReplicationInstance, ReplicationSlotCleanup, ReplicationTaskLifecycle,
 * } from 'cdk-neon-migration';
 *
 * declare const network: NatEgressForReplication;
 * declare const source: PostgresSourceEndpoint;
 * declare const instance: ReplicationInstance;
 * declare const task: dms.CfnReplicationTask;
 * declare const lifecycle: ReplicationTaskLifecycle;
 *
 * new ReplicationSlotCleanup(this, 'SlotCleanup', {
 *   source,
 *   replicationTask: task,
 *   lifecycle,
 *   replicationInstance: instance,
 *   network,
 * });
 */
export class ReplicationSlotCleanup extends Construct implements ec2.IConnectable {
  /** The custom resource recording the task's slot; its `SlotName` attribute is the slot recorded (empty when none is known). */
  public readonly resource: CustomResource;
  /** The replication security group the slot function runs in (ec2.IConnectable). */
  public readonly connections: ec2.Connections;

  constructor(scope: Construct, id: string, props: ReplicationSlotCleanupProps) {
    super(scope, id);
    const owner = 'ReplicationSlotCleanup';
    const task = props.replicationTask;
    const migrationType = task.migrationType;
    if (!Token.isUnresolved(migrationType) && migrationType === 'full-load') {
      throw new Error(`${owner}: replicationTask is a full-load task, which creates no replication slot: leave the cleanup out, `
        + 'or use it with a cdc or full-load-and-cdc task.');
    }
    const slotName = slotNameOf(props.source);
    const addresses = props.replicationInstanceAddresses ?? addressesOf(props.replicationInstance);
    if (addresses === undefined && slotName === undefined) {
      throw new Error(`${owner}: the replication instance was not created by this library, so its addresses are unknown: pass `
        + 'replicationInstanceAddresses (its private IP addresses), or name the slot in the source endpoint (slotName).');
    }
    for (const address of props.replicationInstanceAddresses ?? []) {
      if (!Token.isUnresolved(address) && !/^[0-9a-fA-F.:]+$/.test(address)) {
        throw new Error(`${owner}: replicationInstanceAddresses holds '${address}', which is not an IP address: give the instance's private IP addresses.`);
      }
    }
    this.connections = new ec2.Connections({ securityGroups: [props.network.securityGroup] });

    const access = SlotFunction.of(this, props.network);
    access.grantSecret(props.source.secret);
    const provider = MigrationProvider.of(this);
    const taskLogicalId = Lazy.string({ produce: () => Stack.of(task).getLogicalId(task) });

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: REPLICATION_SLOT_CLEANUP_TYPE,
      properties: {
        TaskArn: task.ref,
        TaskIdentifier: props.lifecycle.replicationTaskIdentifier,
        TaskLogicalId: taskLogicalId,
        SourceSecretArn: completeSecretArn(this, props.source.secret, 'source.secret'),
        DatabaseName: props.source.databaseName,
        ReplicationInstanceAddresses: addresses,
        SlotName: slotName,
        RelayArn: access.relay.stateMachineArn,
        TaskProperties: Lazy.string({ produce: () => taskPropertiesHash(task) }),
        SourceCaBundle: props.sourceCaBundle,
      },
    });
    // recorded after the start; deleted before the lifecycle stops the task and CloudFormation deletes it
    this.resource.node.addDependency(props.lifecycle.resource, access.startPermission, access.function);
    openSourceDatabases([props.source], this, this.resource, this);
  }

  /** The slot recorded for the task (empty when none is known yet). */
  public get slotName(): string {
    return this.resource.getAttString('SlotName');
  }
}

/** The source endpoint's `slotName`, when it names one (the endpoint writes its settings as a property override). */
function slotNameOf(source: PostgresSourceEndpoint): string | undefined {
  const overrides = (source.resource as unknown as { rawOverrides?: { Properties?: { PostgreSqlSettings?: { SlotName?: string } } } }).rawOverrides;
  const typed = source.resource.postgreSqlSettings as dms.CfnEndpoint.PostgreSqlSettingsProperty | undefined;
  const name = overrides?.Properties?.PostgreSqlSettings?.SlotName ?? (typed && !Token.isUnresolved(typed) ? typed.slotName : undefined);
  return name === undefined || name === '' ? undefined : name;
}

/** The private addresses of an instance of this library (comma-separated, as CloudFormation gives them). */
function addressesOf(instance: IReplicationInstance): string | undefined {
  return instance instanceof ReplicationInstance ? instance.resource.attrReplicationInstancePrivateIpAddresses : undefined;
}

/** Changes whenever CloudFormation modifies the task in place: the slot is looked up again after the lifecycle restarted it. */
function taskPropertiesHash(task: dms.CfnReplicationTask): string {
  return resolvedHash(task, {
    TableMappings: task.tableMappings,
    ReplicationTaskSettings: task.replicationTaskSettings,
    TaskData: task.taskData,
    CdcStartPosition: task.cdcStartPosition,
    CdcStartTime: task.cdcStartTime,
    CdcStopPosition: task.cdcStopPosition,
  });
}
