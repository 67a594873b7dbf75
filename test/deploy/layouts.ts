import { App, Duration, Environment, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { MigrationPreflight } from '../../lib/checks/migration-preflight';
import { MigrationVerification } from '../../lib/checks/migration-verification';
import { IReplicationNetwork } from '../../lib/core/interfaces';
import { DmsMigrationTask } from '../../lib/migration/migration-task';
import { NeonTargetEndpoint } from '../../lib/neon/target-endpoint';
import { ExistingEgressForReplication } from '../../lib/network/existing-egress';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { SecretsManagerAccess } from '../../lib/network/secrets-manager-access';
import { ReplicationCompute } from '../../lib/replication/serverless';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';
import { MigrationType } from '../../lib/task/migration-type';

/*
 * The network layouts teams bring, each with the workloads that already run in it, and the migration
 * a team writes from the README's Quick start for that layout: a live (CDC) migration with the schema
 * copy, the preflight and the verification (and the replication slot cleanup, on by default).
 *
 * Every workload here runs before the migration: an RDS for PostgreSQL source, an application server
 * that reads its credentials from Secrets Manager, and a function (a rotation function) that calls
 * Secrets Manager and the database. The migration must leave every one of their paths as it was.
 */

/** The egress address of a transit gateway's egress VPC, given by the team (the app cannot see it). */
export const TRANSIT_EGRESS_IP = '203.0.113.10';
export const TRANSIT_GATEWAY = 'tgw-0egress';

export interface Layout {
  readonly name: string;
  /** Model options: what lies beyond the template. */
  readonly transitGatewayEgress?: string[];
  /** The workloads' VPC and workloads; `migrate` adds the migration as the README says. */
  build(app: App, options: { migrate: boolean; serverless?: boolean; env?: Environment }): LayoutStack;
}

export interface LayoutStack {
  readonly stack: Stack;
  readonly migration?: DmsMigrationTask;
  readonly network?: IReplicationNetwork;
}

interface Workloads {
  readonly vpc: ec2.IVpc;
  readonly database: rds.DatabaseInstance;
}

/** The source and the workloads using it, in `subnets` of `vpc`. */
function workloads(stack: Stack, vpc: ec2.IVpc, subnets: ec2.SubnetSelection): Workloads {
  const databaseGroup = new ec2.SecurityGroup(stack, 'DatabaseSecurityGroup', { vpc, allowAllOutbound: false, description: 'Application database' });
  const database = new rds.DatabaseInstance(stack, 'Database', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
    instanceType: new ec2.InstanceType('t4g.micro'),
    vpc,
    vpcSubnets: subnets,
    securityGroups: [databaseGroup],
    databaseName: 'app',
    storageEncrypted: true,
    removalPolicy: RemovalPolicy.DESTROY,
    deletionProtection: false,
    backupRetention: Duration.days(1),
  });
  const appGroup = new ec2.SecurityGroup(stack, 'AppServerSecurityGroup', { vpc, description: 'Application server' });
  new ec2.Instance(stack, 'AppServer', {
    vpc,
    vpcSubnets: subnets,
    securityGroup: appGroup,
    instanceType: new ec2.InstanceType('t3.micro'),
    machineImage: ec2.MachineImage.latestAmazonLinux2023(),
  });
  database.connections.allowDefaultPortFrom(appGroup, 'Application server');
  const rotation = new lambda.Function(stack, 'Rotation', {
    runtime: lambda.Runtime.NODEJS_20_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {};'),
    vpc,
    vpcSubnets: subnets,
  });
  database.connections.allowDefaultPortFrom(rotation, 'Rotation function');
  return { vpc, database };
}

/** The migration of the Quick start: a live migration with the schema copy, preflight and verification. */
function migrate(stack: Stack, network: IReplicationNetwork, database: rds.DatabaseInstance, serverless: boolean): DmsMigrationTask {
  const source = PostgresSourceEndpoint.fromRdsInstance(stack, 'Source', { instance: database, databaseName: 'app' });
  const neon = new NeonTargetEndpoint(stack, 'Neon', {
    connectionStringSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'NeonConnection', 'neon/connection'),
  });
  const migration = new DmsMigrationTask(stack, 'Migration', {
    source,
    target: neon,
    network,
    schemaName: 'app',
    migrationType: serverless ? MigrationType.FULL_LOAD : MigrationType.FULL_LOAD_AND_CDC,
    waitForCompletion: true,
    schemaCopy: {},
    ...(serverless ? { compute: ReplicationCompute.serverless({ maxCapacityUnits: 4 }) } : {}),
  });
  MigrationPreflight.forTask(stack, 'Preflight', { task: migration });
  MigrationVerification.forTask(stack, 'Verification', { task: migration });
  return migration;
}

/** `new ec2.Vpc(this, 'Vpc')`: public subnets, private subnets behind a NAT gateway per zone. */
export const NAT_EGRESS_VPC: Layout = {
  name: 'ec2.Vpc defaults (private subnets behind NAT gateways)',
  build(app, { migrate: withMigration, serverless = false, env }) {
    const stack = new Stack(app, 'Layout', { env });
    const vpc = new ec2.Vpc(stack, 'Vpc');
    const { database } = workloads(stack, vpc, { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
    if (!withMigration) return { stack };
    const network = new ExistingEgressForReplication(stack, 'Network', {
      vpc,
      // DMS Serverless reads secrets only through an endpoint in its subnets
      ...(serverless ? { secretsManagerAccess: SecretsManagerAccess.newEndpoint() } : {}),
    });
    return { stack, network, migration: migrate(stack, network, database, serverless) };
  },
};

/** Public subnets and isolated subnets, with a Secrets Manager endpoint of the team's own. */
export const ISOLATED_VPC: Layout = {
  name: 'public and isolated subnets, the team\'s own Secrets Manager endpoint',
  build(app, { migrate: withMigration, serverless = false, env }) {
    const stack = new Stack(app, 'Layout', { env });
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      natGateways: 0,
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, mapPublicIpOnLaunch: false, cidrMask: 24 },
        { name: 'Data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
    });
    const endpointGroup = new ec2.SecurityGroup(stack, 'EndpointSecurityGroup', { vpc, allowAllOutbound: false, description: 'Secrets Manager endpoint' });
    const endpoint = vpc.addInterfaceEndpoint('SecretsManager', {
      service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER, securityGroups: [endpointGroup], open: false,
    });
    const { database } = workloads(stack, vpc, { subnetType: ec2.SubnetType.PRIVATE_ISOLATED });
    // the team admits its own workloads to the endpoint
    for (const id of ['AppServerSecurityGroup']) {
      endpoint.connections.allowDefaultPortFrom(stack.node.findChild(id) as ec2.SecurityGroup);
    }
    const rotation = stack.node.findChild('Rotation') as lambda.Function;
    endpoint.connections.allowDefaultPortFrom(rotation);
    if (!withMigration) return { stack };
    const network = new NatEgressForReplication(stack, 'Network', {
      vpc,
      publicSubnet: vpc.publicSubnets[0],
      secretsManagerAccess: SecretsManagerAccess.fromEndpoint(endpoint),
    });
    return { stack, network, migration: migrate(stack, network, database, serverless) };
  },
};

/** Isolated subnets with nothing else: the NAT gateway path of the guide, in subnets of the migration's own. */
export const BARE_ISOLATED_VPC: Layout = {
  name: 'public and isolated subnets, no endpoints',
  build(app, { migrate: withMigration, serverless = false, env }) {
    const stack = new Stack(app, 'Layout', { env });
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      natGateways: 0,
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, mapPublicIpOnLaunch: false, cidrMask: 24 },
        { name: 'Data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
    });
    const { database } = workloads(stack, vpc, { subnetType: ec2.SubnetType.PRIVATE_ISOLATED });
    if (!withMigration) return { stack };
    const network = new NatEgressForReplication(stack, 'Network', {
      vpc,
      publicSubnet: vpc.publicSubnets[0],
      ...(serverless ? { secretsManagerAccess: SecretsManagerAccess.newEndpoint() } : {}),
    });
    return { stack, network, migration: migrate(stack, network, database, serverless) };
  },
};

/** Private subnets whose default route leads to a transit gateway (a network account's egress VPC and firewall). */
export const TRANSIT_GATEWAY_VPC: Layout = {
  name: 'private subnets behind a transit gateway',
  transitGatewayEgress: [TRANSIT_GATEWAY],
  build(app, { migrate: withMigration, serverless = false, env }) {
    const stack = new Stack(app, 'Layout', { env });
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      natGateways: 0,
      subnetConfiguration: [{ name: 'App', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
    });
    vpc.isolatedSubnets.forEach((subnet, i) => {
      new ec2.CfnRoute(stack, `TransitRoute${i + 1}`, { routeTableId: subnet.routeTable.routeTableId, destinationCidrBlock: '0.0.0.0/0', transitGatewayId: TRANSIT_GATEWAY });
    });
    const { database } = workloads(stack, vpc, { subnetType: ec2.SubnetType.PRIVATE_ISOLATED });
    if (!withMigration) return { stack };
    const network = new ExistingEgressForReplication(stack, 'Network', {
      vpc,
      replicationSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      egressIps: [TRANSIT_EGRESS_IP],
      ...(serverless ? { secretsManagerAccess: SecretsManagerAccess.newEndpoint() } : {}),
    });
    return { stack, network, migration: migrate(stack, network, database, serverless) };
  },
};

/** A new VPC for the migration and its database, next to the team's application VPC. */
export const NEW_VPC: Layout = {
  name: 'a new VPC next to the team\'s',
  build(app, { migrate: withMigration, serverless = false, env }) {
    const stack = new Stack(app, 'Layout', { env });
    const appVpc = new ec2.Vpc(stack, 'Vpc');
    workloads(stack, appVpc, { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
    if (!withMigration) return { stack };
    const network = new NatEgressForReplication(stack, 'Network');
    const group = new ec2.SecurityGroup(stack, 'SourceSecurityGroup', { vpc: network.vpc, allowAllOutbound: false, description: 'Source' });
    const source = new rds.DatabaseInstance(stack, 'SourceDatabase', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
      instanceType: new ec2.InstanceType('t4g.micro'),
      vpc: network.vpc,
      vpcSubnets: network.replicationSubnets,
      securityGroups: [group],
      databaseName: 'app',
      storageEncrypted: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    return { stack, network, migration: migrate(stack, network, source, serverless) };
  },
};

export const LAYOUTS: Layout[] = [NAT_EGRESS_VPC, ISOLATED_VPC, BARE_ISOLATED_VPC, TRANSIT_GATEWAY_VPC, NEW_VPC];
