/**
 * What README's Quick start declares with `declare const <name>: <type>;`, made real for the consumer
 * test (package.test.ts), which compiles this file next to the Quick start in a fresh CDK app against
 * the packed library. Keys are `<name>: <type>` exactly as the README writes them; the README's type
 * annotation checks the value. A declaration without an entry fails the test, naming it.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** The app the Quick start's stack is in; the generated program synthesizes it (into CDK_OUTDIR). */
export const app = new App();

/** The stack the Quick start builds in. */
export const STACK_NAME = 'QuickStart';
const stack = new Stack(app, STACK_NAME);

let vpc: ec2.Vpc | undefined;
/**
 * The VPC of the source database as most teams have it: `new ec2.Vpc(this, 'Vpc')` with its defaults,
 * public subnets and private subnets behind NAT gateways.
 */
function sourceVpc(): ec2.Vpc {
  vpc ??= new ec2.Vpc(stack, 'Vpc');
  return vpc;
}

let instance: rds.DatabaseInstance | undefined;
/** RDS for PostgreSQL in the private subnets, with logical replication on (a live migration reads its changes). */
function postgresInstance(): rds.DatabaseInstance {
  const engine = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 });
  instance ??= new rds.DatabaseInstance(stack, 'FixtureDatabase', {
    engine,
    vpc: sourceVpc(),
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    parameterGroup: new rds.ParameterGroup(stack, 'FixtureParameters', { engine, parameters: { 'rds.logical_replication': '1' } }),
  });
  return instance;
}

let cluster: rds.DatabaseCluster | undefined;
function auroraPostgresCluster(): rds.DatabaseCluster {
  cluster ??= new rds.DatabaseCluster(stack, 'FixtureCluster', {
    engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }),
    writer: rds.ClusterInstance.serverlessV2('Writer'),
    vpc: sourceVpc(),
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
  });
  return cluster;
}

/** A value for each declaration the Quick start may make, by `<name>: <type>`. */
export const FIXTURES = {
  'app: App': (): App => app,
  'stack: Stack': (): Stack => stack,
  'scope: Construct': (): Construct => stack,
  'vpc: ec2.IVpc': (): ec2.IVpc => sourceVpc(),
  'vpc: ec2.Vpc': (): ec2.Vpc => sourceVpc(),
  'database: rds.DatabaseInstance': postgresInstance,
  'database: rds.IDatabaseInstance': (): rds.IDatabaseInstance => postgresInstance(),
  'cluster: rds.DatabaseCluster': auroraPostgresCluster,
  'cluster: rds.IDatabaseCluster': (): rds.IDatabaseCluster => auroraPostgresCluster(),
  'neonSecret: secretsmanager.ISecret': (): secretsmanager.ISecret =>
    secretsmanager.Secret.fromSecretNameV2(stack, 'FixtureNeonSecret', 'neon/connection'),
};
