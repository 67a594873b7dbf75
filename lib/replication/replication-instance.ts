import { Annotations, ArnFormat, IResource, RemovalPolicy, Resource, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IDependable } from 'constructs';
import { DEFAULT_DMS_ENGINE_VERSION } from './engine-version';
import { createSubnetGroup, resolvePlacement } from './placement';
import { ReplicationPlacementOptions } from './placement-options';
import { l1Property, replacementAwareIdentifier, setReplacementKey, validateDmsIdentifier } from '../core/identifiers';
import { IReplicationNetwork } from '../core/interfaces';
import { createRotatingKey } from '../core/kms';
import { DmsMetrics } from '../metrics/metrics';

/** The smallest and largest allocated storage of a replication instance, in GiB. */
const MIN_STORAGE_GIB = 5;
const MAX_STORAGE_GIB = 6144;
const MAX_IDENTIFIER_LENGTH = 63;

/**
 * The replication instance classes DMS documents ("Choosing the right AWS DMS replication instance
 * for your migration": the T2, T3, C4, C5, C6i, R4, R5 and R6i classes). Another class only gets a
 * warning: DMS adds classes, and CloudFormation rejects a class DMS does not offer in the Region.
 */
const KNOWN_DMS_INSTANCE_CLASSES: readonly string[] = [
  ...sizes('t2', ['micro', 'small', 'medium', 'large']),
  ...sizes('t3', ['micro', 'small', 'medium', 'large']),
  ...sizes('c4', ['large', 'xlarge', '2xlarge', '4xlarge']),
  ...sizes('c5', ['large', 'xlarge', '2xlarge', '4xlarge', '9xlarge', '12xlarge', '18xlarge', '24xlarge']),
  ...sizes('c6i', ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge']),
  ...sizes('r4', ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge']),
  ...sizes('r5', ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge']),
  ...sizes('r6i', ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge']),
];

function sizes(family: string, names: string[]): string[] {
  return names.map((size) => `dms.${family}.${size}`);
}

/** The known classes by family, for messages: `dms.t3.micro|small|medium|large`. */
function describeKnownClasses(): string {
  const families = new Map<string, string[]>();
  for (const instanceClass of KNOWN_DMS_INSTANCE_CLASSES) {
    const [, family, size] = instanceClass.split('.');
    families.set(family, [...(families.get(family) ?? []), size]);
  }
  return [...families].map(([family, names]) => `dms.${family}.${names.join('|')}`).join(', ');
}

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

  /**
   * The network the instance runs in: the VPC, subnets and security group that what runs next to it
   * (the schema copy, the preflight and verification, the replication slot cleanup) use too. An
   * instance placed with `vpc` makes one of its VPC, subnets and (first) security group.
   * Undefined for an instance imported without it.
   */
  readonly network?: IReplicationNetwork;

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

  /**
   * The network the instance runs in, for what runs next to it (schema copy, checks, slot cleanup).
   *
   * @default - unknown: those capabilities need a network of their own
   */
  readonly network?: IReplicationNetwork;
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
   * KMS key that encrypts the instance storage, the endpoint connection data and the task log group
   * (`dms-tasks-<identifier>`). A key of this stack gets the statement that lets CloudWatch Logs use it
   * for that log group; the policy of an imported key must allow it already (a warning says so).
   *
   * @default - a new KMS key with automatic rotation enabled
   */
  readonly kmsKey?: kms.IKey;

  /**
   * How long the task log group `dms-tasks-<identifier>` keeps the logs of the instance's tasks.
   * One year, as the library's other log groups and AWS Control Tower's CT.CLOUDWATCH.PR.2 ask;
   * shorten it when the tasks log at debug level, which writes a lot.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly taskLogRetention?: logs.RetentionDays;

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
   * What happens to the instance, its task log group and the KMS key created for it when they leave
   * the stack. `SNAPSHOT` is not supported by DMS.
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
  public abstract readonly network?: IReplicationNetwork;

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
 * storage, its replication subnet group and the log group its tasks write to.
 *
 * DMS writes task logs to the log group `dms-tasks-<identifier>` and creates it itself, without
 * retention, when none exists: it would outlive the stack. This construct creates it first, with
 * `taskLogRetention`, encrypted with the instance's key, removed (or kept) with the instance. A
 * deployment fails with "already exists" when DMS created that log group earlier for an instance
 * of the same identifier (e.g. of a destroyed stack): delete it, then deploy again.
 *
 * The account-level roles DMS needs are ensured first (`DmsAccountRoles`), unless
 * `manageAccountRoles` is false. One instance can run several tasks.
 *
 * @example
 * import { NatEgressForReplication, ReplicationInstance } from 'cdk-neon-migration';
 *
 * declare const network: NatEgressForReplication;
 *
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
      public readonly egressReady = attrs.egressReady ?? attrs.network?.egressReady;
      public readonly network = attrs.network;
    }
    return new Import(scope, id);
  }

  public readonly replicationInstanceArn: string;
  public readonly replicationInstanceIdentifier: string;
  public readonly connections: ec2.Connections;
  public readonly egressReady?: IDependable;
  /** The network the instance runs in (given, or made of its `vpc` placement): always set. */
  public readonly network?: IReplicationNetwork;
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
  /** The log group `dms-tasks-<identifier>` DMS writes the logs of the instance's tasks to. */
  public readonly taskLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ReplicationInstanceProps) {
    super(scope, id);
    const owner = 'ReplicationInstance';

    const instanceClass = props.instanceClass ?? 'dms.t3.medium';
    if (!Token.isUnresolved(instanceClass) && !/^dms\.[a-z0-9]+\.[a-z0-9]+$/.test(instanceClass)) {
      throw new Error(`${owner}: instanceClass '${instanceClass}' is not a DMS instance class: use the form dms.<family>.<size>, e.g. dms.t3.medium or dms.r5.large.`);
    }
    if (!Token.isUnresolved(instanceClass) && !KNOWN_DMS_INSTANCE_CLASSES.includes(instanceClass)) {
      Annotations.of(this).addWarningV2('cdk-neon-migration:unknownInstanceClass',
        `instanceClass '${instanceClass}' is not a replication instance class DMS documents (${describeKnownClasses()}). ` +
        'If DMS offers it in your Region, acknowledge this warning (Annotations.of(instance).acknowledgeWarning(\'cdk-neon-migration:unknownInstanceClass\')); ' +
        'otherwise the deployment fails when CloudFormation creates the instance.');
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
    this.network = placement.network;

    this.kmsKey = props.kmsKey ?? createRotatingKey(this, 'Key', {
      description: `Encrypts the DMS replication instance ${this.node.path}`,
      removalPolicy,
    });

    this.subnetGroup = createSubnetGroup(this, 'SubnetGroup', `Subnets of the DMS replication instance ${this.node.path}`,
      placement.subnetIds, props.manageAccountRoles ?? true);

    // replaced with the properties that make CloudFormation replace the instance (a new name, or "already exists")
    const replacedBy = () => ({
      KmsKeyId: l1Property(this.resource, 'kmsKeyId'),
      // the subnet group's name: a Ref to it stays the same when it is replaced
      ReplicationSubnetGroupIdentifier: [l1Property(this.resource, 'replicationSubnetGroupIdentifier'), this.subnetGroup.replicationSubnetGroupIdentifier],
      PubliclyAccessible: l1Property(this.resource, 'publiclyAccessible'),
      DnsNameServers: l1Property(this.resource, 'dnsNameServers'),
      ResourceIdentifier: l1Property(this.resource, 'resourceIdentifier'),
    });
    setReplacementKey(this, replacedBy);
    this.replicationInstanceIdentifier = props.replicationInstanceIdentifier !== undefined
      ? validateDmsIdentifier(owner, 'replicationInstanceIdentifier', props.replicationInstanceIdentifier, MAX_IDENTIFIER_LENGTH)
      : replacementAwareIdentifier(this, MAX_IDENTIFIER_LENGTH, replacedBy);

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
    this.resource.node.addDependency(this.subnetGroup);
    // Ref of AWS::DMS::ReplicationInstance is its ARN.
    this.replicationInstanceArn = this.resource.ref;

    this.taskLogGroup = this.createTaskLogGroup(props.taskLogRetention ?? logs.RetentionDays.ONE_YEAR, removalPolicy);
    // the log group exists before any task of the instance can write to it, and goes after the instance
    this.resource.node.addDependency(this.taskLogGroup);
  }

  private createTaskLogGroup(retention: logs.RetentionDays, removalPolicy: RemovalPolicy): logs.LogGroup {
    const logGroupName = `dms-tasks-${this.replicationInstanceIdentifier}`;
    const stack = Stack.of(this);
    // CloudWatch Logs encrypts with the key on behalf of the log group, and only for this log group
    const keyPolicy = this.kmsKey.addToResourcePolicy(new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnEquals: {
          'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
            service: 'logs', resource: 'log-group', resourceName: logGroupName, arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      },
    }));
    if (!keyPolicy.statementAdded) {
      Annotations.of(this).addWarningV2('cdk-neon-migration:taskLogKeyPolicy',
        'kmsKey is imported, so its key policy cannot be changed here: it must let logs.<region>.amazonaws.com use it ' +
        `(kms:Encrypt*, kms:Decrypt*, kms:ReEncrypt*, kms:GenerateDataKey*, kms:Describe*) for the log group ${logGroupName}, ` +
        'or creating the log group fails.');
    }
    // the key (with its policy) is created first: the log group refers to its ARN
    return new logs.LogGroup(this, 'TaskLogs', { logGroupName, retention, encryptionKey: this.kmsKey, removalPolicy });
  }
}
