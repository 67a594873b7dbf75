import { Lazy, Stack, Token } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct, IDependable } from 'constructs';
import { createSubnetGroup, resolvePlacement } from './placement';
import { ReplicationPlacementOptions } from './placement-options';
import { IReplicationInstance } from './replication-instance';
import { l1Property, replacementAwareIdentifier, validateDmsIdentifier } from '../core/identifiers';
import { IReplicationNetwork } from '../core/interfaces';
import { createRotatingKey } from '../core/kms';

/** The capacities DMS Serverless accepts, in DMS capacity units (1 DCU = 2 GB of memory). */
const VALID_CAPACITY_UNITS = [1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384];
const MAX_IDENTIFIER_LENGTH = 255;

/** What a replication migrates. */
export enum ReplicationType {
  /** Copy the selected tables once. */
  FULL_LOAD = 'full-load',
  /** Replicate ongoing changes only. */
  CDC = 'cdc',
  /** Copy the tables, then replicate ongoing changes. */
  FULL_LOAD_AND_CDC = 'full-load-and-cdc',
}

/**
 * Capacity and placement of a DMS Serverless replication.
 */
export interface ServerlessComputeOptions extends ReplicationPlacementOptions {
  /**
   * Largest capacity DMS may scale to, in DMS capacity units (1 DCU = 2 GB of memory):
   * one of 1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384.
   */
  readonly maxCapacityUnits: number;

  /**
   * Smallest capacity, in DMS capacity units: one of the values allowed for `maxCapacityUnits`,
   * not larger than it.
   *
   * @default - DMS picks it from the activity of the source tables (1 when it cannot tell)
   */
  readonly minCapacityUnits?: number;

  /**
   * Run the replication with a standby in a second Availability Zone.
   *
   * @default false
   */
  readonly multiAz?: boolean;

  /**
   * KMS key that encrypts the data during replication.
   *
   * @default - a new KMS key with automatic rotation enabled
   */
  readonly kmsKey?: kms.IKey;
}

/** Which kind of compute a `ReplicationCompute` is. */
export enum ReplicationComputeKind {
  /** A provisioned replication instance, shared by tasks. */
  INSTANCE = 'instance',
  /** DMS Serverless: one `AWS::DMS::ReplicationConfig` per task. */
  SERVERLESS = 'serverless',
}

/**
 * Where a migration task runs: on a provisioned replication instance or on DMS Serverless.
 *
 * A task built on `ReplicationCompute.instance(...)` becomes an `AWS::DMS::ReplicationTask` on that
 * instance; one built on `ReplicationCompute.serverless(...)` becomes a `ServerlessReplication`
 * (an `AWS::DMS::ReplicationConfig` that carries the table mappings and settings itself).
 */
export class ReplicationCompute {
  /** Run on a provisioned replication instance (which can serve several tasks). */
  public static instance(instance: IReplicationInstance): ReplicationCompute {
    return new ReplicationCompute(ReplicationComputeKind.INSTANCE, instance, undefined);
  }

  /** Run on DMS Serverless with these capacity limits and this placement. */
  public static serverless(options: ServerlessComputeOptions): ReplicationCompute {
    validateCapacity('ReplicationCompute.serverless', options);
    return new ReplicationCompute(ReplicationComputeKind.SERVERLESS, undefined, options);
  }

  /** Instance or serverless. */
  public readonly kind: ReplicationComputeKind;
  /** The replication instance, for `INSTANCE`. */
  public readonly replicationInstance?: IReplicationInstance;
  /** Capacity and placement, for `SERVERLESS`. */
  public readonly serverlessOptions?: ServerlessComputeOptions;

  private constructor(kind: ReplicationComputeKind, instance: IReplicationInstance | undefined,
    serverlessOptions: ServerlessComputeOptions | undefined) {
    this.kind = kind;
    this.replicationInstance = instance;
    this.serverlessOptions = serverlessOptions;
  }
}

/**
 * Properties of a `ServerlessReplication`.
 */
export interface ServerlessReplicationProps extends ServerlessComputeOptions {
  /** ARN of the source endpoint. */
  readonly sourceEndpointArn: string;

  /** ARN of the target endpoint. */
  readonly targetEndpointArn: string;

  /** Full load, CDC or both. */
  readonly replicationType: ReplicationType;

  /** Table mappings as a JSON document: `{"rules":[…]}` with at least one selection rule. */
  readonly tableMappings: string;

  /**
   * Replication (task) settings as a JSON document.
   *
   * @default - the DMS defaults
   */
  readonly replicationSettings?: string;

  /**
   * Supplemental settings as a JSON document.
   *
   * @default - none
   */
  readonly supplementalSettings?: string;

  /**
   * Name of the replication configuration: letters, digits and hyphens, beginning with a letter,
   * no trailing or double hyphen, at most 255 characters. Stored in lowercase.
   *
   * @default - a name derived from the construct path
   */
  readonly replicationConfigIdentifier?: string;
}

/**
 * A DMS Serverless replication (`AWS::DMS::ReplicationConfig`): the compute, the endpoints, the
 * table mappings and the settings in one resource. DMS provisions capacity between
 * `minCapacityUnits` and `maxCapacityUnits` when the replication is started (`StartReplication`);
 * creating the resource starts nothing.
 */
export class ServerlessReplication extends Construct implements ec2.IConnectable {
  /** ARN of the replication configuration. */
  public readonly replicationConfigArn: string;
  /** Name of the replication configuration. */
  public readonly replicationConfigIdentifier: string;
  public readonly connections: ec2.Connections;
  /** What connection tests and the start must wait for, when placed with an `IReplicationNetwork`. */
  public readonly egressReady?: IDependable;
  /** The network the replication runs in (given, or made of its `vpc` placement). */
  public readonly network: IReplicationNetwork;
  /** The KMS key encrypting the replication. */
  public readonly kmsKey: kms.IKey;
  /** The replication subnet group. */
  public readonly subnetGroup: dms.CfnReplicationSubnetGroup;
  /** The `AWS::DMS::ReplicationConfig`. */
  public readonly resource: dms.CfnReplicationConfig;

  constructor(scope: Construct, id: string, props: ServerlessReplicationProps) {
    super(scope, id);
    const owner = 'ServerlessReplication';
    validateCapacity(owner, props);
    const tableMappings = parseJson(this, owner, 'tableMappings', props.tableMappings);
    const replicationSettings = props.replicationSettings === undefined
      ? undefined : parseJson(this, owner, 'replicationSettings', props.replicationSettings);
    const supplementalSettings = props.supplementalSettings === undefined
      ? undefined : parseJson(this, owner, 'supplementalSettings', props.supplementalSettings);

    const placement = resolvePlacement(this, owner, props, true);
    this.connections = new ec2.Connections({ securityGroups: placement.securityGroups });
    this.egressReady = placement.egressReady;
    this.network = placement.network;
    this.kmsKey = props.kmsKey ?? createRotatingKey(this, 'Key', {
      description: `Encrypts the DMS Serverless replication ${this.node.path}`,
    });
    this.subnetGroup = createSubnetGroup(this, 'SubnetGroup', `Subnets of the DMS Serverless replication ${this.node.path}`,
      placement.subnetIds, props.manageAccountRoles ?? true);

    this.replicationConfigIdentifier = props.replicationConfigIdentifier !== undefined
      ? validateDmsIdentifier(owner, 'replicationConfigIdentifier', props.replicationConfigIdentifier, MAX_IDENTIFIER_LENGTH)
      // replaced with the only property that makes CloudFormation replace a configuration (a new name, or "already exists")
      : replacementAwareIdentifier(this, 63, () => ({ ResourceIdentifier: l1Property(this.resource, 'resourceIdentifier') }));

    this.resource = new dms.CfnReplicationConfig(this, 'Resource', {
      replicationConfigIdentifier: this.replicationConfigIdentifier,
      replicationType: props.replicationType,
      sourceEndpointArn: props.sourceEndpointArn,
      targetEndpointArn: props.targetEndpointArn,
      tableMappings,
      replicationSettings,
      supplementalSettings,
      computeConfig: {
        maxCapacityUnits: props.maxCapacityUnits,
        minCapacityUnits: props.minCapacityUnits,
        multiAz: props.multiAz ?? false,
        kmsKeyId: this.kmsKey.keyArn,
        replicationSubnetGroupId: this.subnetGroup.ref,
        vpcSecurityGroupIds: placement.securityGroups.map(sg => sg.securityGroupId),
      },
    });
    this.resource.node.addDependency(this.subnetGroup);
    this.replicationConfigArn = this.resource.attrReplicationConfigArn;
  }
}

function validateCapacity(owner: string, options: ServerlessComputeOptions): void {
  const max = options.maxCapacityUnits;
  const min = options.minCapacityUnits;
  const allowed = VALID_CAPACITY_UNITS.join(', ');
  if (!Token.isUnresolved(max) && !VALID_CAPACITY_UNITS.includes(max)) {
    throw new Error(`${owner}: maxCapacityUnits must be one of ${allowed} (DCUs), got ${max}.`);
  }
  if (min === undefined || Token.isUnresolved(min)) {
    return;
  }
  if (!VALID_CAPACITY_UNITS.includes(min)) {
    throw new Error(`${owner}: minCapacityUnits must be one of ${allowed} (DCUs), got ${min}.`);
  }
  if (!Token.isUnresolved(max) && min > max) {
    throw new Error(`${owner}: minCapacityUnits (${min}) must not be larger than maxCapacityUnits (${max}).`);
  }
}

/**
 * The JSON document as an object, as `AWS::DMS::ReplicationConfig` expects. A token is parsed
 * once it resolves (a JSON string) or passed on as is (an intrinsic function).
 */
function parseJson(scope: Construct, owner: string, property: string, value: string): any {
  if (Token.isUnresolved(value)) {
    return Lazy.any({
      produce: () => {
        const resolved = Stack.of(scope).resolve(value);
        return typeof resolved === 'string' ? parseJsonObject(owner, property, resolved) : resolved;
      },
    });
  }
  return parseJsonObject(owner, property, value);
}

function parseJsonObject(owner: string, property: string, value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (e) {
    throw new Error(`${owner}: ${property} is not valid JSON (${(e as Error).message}).`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${owner}: ${property} must be a JSON object, e.g. {"rules":[…]} for table mappings.`);
  }
  return parsed as Record<string, unknown>;
}
