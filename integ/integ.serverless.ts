/**
 * A migration on DMS Serverless: an RDS PostgreSQL source, Neon as the target, a replication config
 * instead of an instance. Asserts that the replication finished its full load.
 *
 * Deploying needs an AWS account and the Neon secret (NEON_SECRET, see README "Example").
 */
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { acknowledgeRules } from '../lib/core/nag';
import { PLACEHOLDER_NEON_SECRET } from '../lib/example/example-stack';
import { DmsMigrationTask } from '../lib/migration/migration-task';
import { NeonTargetEndpoint } from '../lib/neon/target-endpoint';
import { NatEgressForReplication } from '../lib/network/nat-egress';
import { ReplicationCompute } from '../lib/replication/serverless';
import { PostgresSourceEndpoint } from '../lib/sources/postgres';
import { MigrationType } from '../lib/task/migration-type';

const app = new App();
const stack = new Stack(app, 'NeonDmsServerlessInteg');

// with the Secrets Manager interface endpoint DMS Serverless reads endpoint credentials through
const network = new NatEgressForReplication(stack, 'Network');

const database = new rds.DatabaseInstance(stack, 'Source', {
  engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_15 }),
  instanceType: new ec2.InstanceType('t4g.micro'),
  vpc: network.vpc,
  vpcSubnets: network.replicationSubnets,
  port: 5432,
  databaseName: 'app',
  storageEncrypted: true,
  removalPolicy: RemovalPolicy.DESTROY,
  deletionProtection: false,
});
acknowledgeRules(database, [{ id: 'AwsSolutions-RDS10', reason: 'Test database, removed with the test stack.' }]);

const source = PostgresSourceEndpoint.fromRdsInstance(stack, 'SourceEndpoint', { instance: database, databaseName: 'app' });

const neon = new NeonTargetEndpoint(stack, 'Neon', {
  connectionStringSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'NeonUrl', process.env.NEON_SECRET ?? PLACEHOLDER_NEON_SECRET),
});

const migration = new DmsMigrationTask(stack, 'Migration', {
  source,
  target: neon,
  network,
  compute: ReplicationCompute.serverless({ minCapacityUnits: 1, maxCapacityUnits: 4 }),
  migrationType: MigrationType.FULL_LOAD,
  schemaName: 'public',
});

const integ = new IntegTest(app, 'ServerlessMigration', { testCases: [stack], diffAssets: false });
integ.assertions.awsApiCall('@aws-sdk/client-database-migration-service', 'describeReplications', {
  Filters: [{ Name: 'replication-config-arn', Values: [migration.replicationConfigArn!] }],
}).expect(ExpectedResult.objectLike({
  Replications: Match.arrayWith([Match.objectLike({
    Status: 'stopped',
    StopReason: Match.stringLikeRegexp('FULL_LOAD_ONLY_FINISHED'),
  })]),
})).waitForAssertions({ totalTimeout: Duration.hours(1), interval: Duration.minutes(1) });

app.synth();
