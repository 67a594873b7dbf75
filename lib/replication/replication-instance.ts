import { IResource, RemovalPolicy, Resource, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct, IDependable } from 'constructs';
import { DEFAULT_DMS_ENGINE_VERSION } from './engine-version';
import { createSubnetGroup, resolvePlacement } from './placement';
import { ReplicationPlacementOptions } from './placement-options';
import { generateDmsIdentifier, validateDmsIdentifier } from '../core/identifiers';
import { createRotatingKey } from '../core/kms';
import { DmsMetrics } from '../monitoring/metrics';

/** The smallest and largest allocated storage of a replication instance, in GiB. */
const MIN_STORAGE_GIB = 5;
const MAX_STORAGE_GIB = 6144;
const MAX_IDENTIFIER_LENGTH = 63;

/**
 * A DMS replication instance: the compute that runs replication tasks.
 */
export interface IReplicationInstance extends IResource, ec2.IConnectable {
  /**
   * ARN of the replication instance.
   *
   * @attribute
   */
  readonly replicationInstanceArn: string;

  /**
   * The replication instance identifier (its name, in lowercase). It is the
   * `ReplicationInstanceIdentifier` dimension of the AWS/DMS metrics, and names the task log group
   * `dms-tasks-<identifier>`.
   *
   * @attribute
   */
  readonly replicationInstanceIdentifier: string;

  /**
   * Completes when the replication subnets can reach the internet; connection tests and task
   * starts wait on it. Undefined when the instance was not placed with an `IReplicationNetwork`.
   */
  readonly egressReady?: IDependable;

  /** A metric of this replication instance (namespace `AWS/DMS`). */
  metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /** Percentage of CPU used (average over 5 minutes). */
  metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /** Available random access memory, in bytes (average over 5 minutes). */
  metricFreeableMemory(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /** Available storage space, in bytes (average over 5 minutes). */
  metricFreeStorageSpace(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /** Swap space used, in bytes (average over 5 minutes). */
  metricSwapUsage(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/**
 * The attributes of a replication instance created outside this stack.
 */
export interface ReplicationInstanceAttributes {
  /** ARN of the replication instance. */
  readonly replicationInstanceArn: string;

  /** Identifier (name) of the replication instance. */
  readonly replicationInstanceIdentifier: string;

  /**
   * Security groups of the replication instance: database security groups are opened to them.
   *
   * @default - no security groups: connections to databases must be opened by other means
   */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /**
   * What connection tests and task starts must wait for, e.g. the NAT route of its subnets.
   *
   * @default - nothing
   */
  readonly egressReady?: IDependable;
}

/**
 * Properties of a `ReplicationInstance`.
 */
export interface ReplicationInstanceProps extends ReplicationPlacementOptions {
  /**
   * The replication instance class, e.g. `dms.t3.medium`, `dms.c5.large`, `dms.r5.xlarge`.
   * A `dms.t3.medium` (2 vCPU, 4 GiB) suits small and medium databases; use `dms.c5`/`dms.r5`
   * classes for large tables, many LOB columns or high change rates.
   *
   * @default 'dms.t3.medium'
   */
  readonly instanceClass?: string;

  /**
   * Storage of the instance in GiB (5–6144): holds task logs and cached changes during full load.
   *
   * @default 50
   */
  readonly allocatedStorage?: number;

  /**
   * Run a standby in a second Availability Zone (roughly doubles the price).
   *
   * @default false
   */
  readonly multiAz?: boolean;

  /**
   * DMS engine version, e.g. `3.6.1`. A PostgreSQL 17 or 18 source needs 3.6.1 or later, a PostgreSQL
   * 17 or 18 target (Neon) 3.5.4 or later; DMS's own default (3.5.4) supports sources up to 16.
   *
   * @default '3.6.1'
   */
  readonly engineVersion?: string;

  /**
   * Allow `engineVersion` to change to a new major version.
   *
   * @default false
   */
  readonly allowMajorVersionUpgrade?: boolean;

  /**
   * Apply minor engine upgrades in the maintenance window.
   *
   * @default true
   */
  readonly autoMinorVersionUpgrade?: boolean;

  /**
   * KMS key that encrypts the instance storage and the endpoint connection data.
   *
   * @default - a new KMS key with automatic rotation enabled
   */
  readonly kmsKey?: kms.IKey;

  /**
   * Weekly maintenance window in UTC, `ddd:hh24:mi-ddd:hh24:mi`, e.g. `sun:05:00-sun:06:00`.
   *
   * @default - a 30-minute window DMS picks
   */
  readonly preferredMaintenanceWindow?: string;

  /**
   * Name of the replication instance: 1–63 letters, digits and hyphens, beginning with a letter,
   * no trailing or double hyphen. Stored in lowercase.
   *
   * @default - a name derived from the construct path
   */
  readonly replicationInstanceIdentifier?: string;

  /**
   * What happens to the instance (and the KMS key created for it) when it leaves the stack.
   * `SNAPSHOT` is not supported by DMS.
   *
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The parts shared by created and imported replication instances. */
abstract class ReplicationInstanceBase extends Resource implements IReplicationInstance {
  public abstract readonly replicationInstanceArn: string;
  public abstract readonly replicationInstanceIdentifier: string;
  public abstract readonly connections: ec2.Connections;
  public abstract readonly egressReady?: IDependable;

  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return DmsMetrics.instanceMetric(this.replicationInstanceIdentifier, metricName, props).attachTo(this);
  }

  public metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('CPUUtilization', props);
  }

  public metricFreeableMemory(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('FreeableMemory', props);
  }

  public metricFreeStorageSpace(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('FreeStorageSpace', props);
  }

  public metricSwapUsage(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('SwapUsage', props);
  }
}

/**
 * A DMS replication instance in private subnets, never publicly accessible, with KMS-encrypted
 * storage and its replication subnet group.
 *
 * The account-level roles DMS needs are ensured first (`DmsAccountRoles`), unless
 * `manageAccountRoles` is false. One instance can run several tasks.
 *
 * @example
 * const instance = new ReplicationInstance(this, 'Replication', {
 *   network,                     // e.g. a NatEgressForReplication
 *   instanceClass: 'dms.t3.medium',
 * });
 */
export class ReplicationInstance extends ReplicationInstanceBase {
  /** Import a replication instance created elsewhere. */
  public static fromReplicationInstanceAttributes(scope: Construct, id: string,
    attrs: ReplicationInstanceAttributes): IReplicationInstance {
    class Import extends ReplicationInstanceBase {
      public readonly replicationInstanceArn = attrs.replicationInstanceArn;
      public readonly replicationInstanceIdentifier = attrs.replicationInstanceIdentifier;
      public readonly connections = new ec2.Connections({ securityGroups: attrs.securityGroups ?? [] });
      public readonly egressReady = attrs.egressReady;
    }
    return new Import(scope, id);
  }

  public readonly replicationInstanceArn: string;
  public readonly replicationInstanceIdentifier: string;
  public readonly connections: ec2.Connections;
  public readonly egressReady?: IDependable;
  /** The DMS engine version the instance is created with. */
  public readonly engineVersion: string;
  /** The KMS key encrypting the instance. */
  public readonly kmsKey: kms.IKey;
  /** The VPC the instance runs in. */
  public readonly vpc: ec2.IVpc;
  /** The replication subnet group. */
  public readonly subnetGroup: dms.CfnReplicationSubnetGroup;
  /** The `AWS::DMS::ReplicationInstance`. */
  public readonly resource: dms.CfnReplicationInstance;

  constructor(scope: Construct, id: string, props: ReplicationInstanceProps) {
    super(scope, id);
    const owner = 'ReplicationInstance';

    const instanceClass = props.instanceClass ?? 'dms.t3.medium';
    if (!Token.isUnresolved(instanceClass) && !/^dms\.[a-z0-9]+\.[a-z0-9]+$/.test(instanceClass)) {
      throw new Error(`${owner}: instanceClass '${instanceClass}' is not a DMS instance class: use the form dms.<family>.<size>, e.g. dms.t3.medium or dms.r5.large.`);
    }
    const allocatedStorage = props.allocatedStorage ?? 50;
    if (!Token.isUnresolved(allocatedStorage)
      && (!Number.isInteger(allocatedStorage) || allocatedStorage < MIN_STORAGE_GIB || allocatedStorage > MAX_STORAGE_GIB)) {
      throw new Error(`${owner}: allocatedStorage must be a whole number of GiB from ${MIN_STORAGE_GIB} to ${MAX_STORAGE_GIB}, got ${allocatedStorage}.`);
    }
    const maintenanceWindow = props.preferredMaintenanceWindow;
    if (maintenanceWindow !== undefined && !Token.isUnresolved(maintenanceWindow)
      && !/^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$/i.test(maintenanceWindow)) {
      throw new Error(`${owner}: preferredMaintenanceWindow '${maintenanceWindow}' must have the form ddd:hh24:mi-ddd:hh24:mi in UTC, e.g. sun:05:00-sun:06:00.`);
    }
    this.engineVersion = props.engineVersion ?? DEFAULT_DMS_ENGINE_VERSION;
    if (!Token.isUnresolved(this.engineVersion) && !/^\d+\.\d+(\.\d+)?$/.test(this.engineVersion)) {
      throw new Error(`${owner}: engineVersion '${this.engineVersion}' is not a DMS engine version such as ${DEFAULT_DMS_ENGINE_VERSION}.`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    if (removalPolicy === RemovalPolicy.SNAPSHOT) {
      throw new Error(`${owner}: removalPolicy SNAPSHOT is not supported by DMS replication instances: use DESTROY or RETAIN.`);
    }
    const placement = resolvePlacement(this, owner, props);
    this.vpc = placement.vpc;
    this.connections = new ec2.Connections({ securityGroups: placement.securityGroups });
    this.egressReady = placement.egressReady;

    this.kmsKey = props.kmsKey ?? createRotatingKey(this, 'Key', {
      description: `Encrypts the DMS replication instance ${this.node.path}`,
      removalPolicy,
    });

    this.subnetGroup = createSubnetGroup(this, 'SubnetGroup', `Subnets of the DMS replication instance ${this.node.path}`,
      placement.subnetIds, props.manageAccountRoles ?? true);

    this.replicationInstanceIdentifier = props.replicationInstanceIdentifier !== undefined
      ? validateDmsIdentifier(owner, 'replicationInstanceIdentifier', props.replicationInstanceIdentifier, MAX_IDENTIFIER_LENGTH)
      : generateDmsIdentifier(this, MAX_IDENTIFIER_LENGTH);

    this.resource = new dms.CfnReplicationInstance(this, 'Resource', {
      replicationInstanceClass: instanceClass,
      replicationInstanceIdentifier: this.replicationInstanceIdentifier,
      allocatedStorage,
      multiAz: props.multiAz ?? false,
      engineVersion: this.engineVersion,
      allowMajorVersionUpgrade: props.allowMajorVersionUpgrade,
      autoMinorVersionUpgrade: props.autoMinorVersionUpgrade ?? true,
      kmsKeyId: this.kmsKey.keyArn,
      preferredMaintenanceWindow: maintenanceWindow,
      // CloudFormation's default is true: never leave it to the default.
      publiclyAccessible: false,
      replicationSubnetGroupIdentifier: this.subnetGroup.ref,
      vpcSecurityGroupIds: placement.securityGroups.map(sg => sg.securityGroupId),
    });
    this.resource.applyRemovalPolicy(removalPolicy);
    this.resource.addDependency(this.subnetGroup);
    // Ref of AWS::DMS::ReplicationInstance is its ARN.
    this.replicationInstanceArn = this.resource.ref;
  }
}
