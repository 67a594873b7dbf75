/**
 * The live-migration example, deployed for real: an application stack (a VPC with NAT egress, an RDS
 * for PostgreSQL database with the sample schema) and the migration stack next to it. Asserts that the
 * task replicates changes after its full load, with every table loaded, and that the application's
 * private subnets kept their routes (one default route each, to their own NAT gateway).
 *
 * Deploying needs an AWS account and a Neon project with an API key (see README "Examples"). Offline,
 * `npm test` only compares the synthesized templates with the committed snapshot.
 */
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Duration } from 'aws-cdk-lib';
import { ApplicationStack, LiveMigrationStack, liveExampleSettingsFromContext } from '../lib/example/live-example-stack';

const app = new App();
const defaults = liveExampleSettingsFromContext(app);
const settings = {
  ...defaults,
  neonSecret: process.env.NEON_SECRET ?? defaults.neonSecret,
  neonProjectId: process.env.NEON_PROJECT_ID ?? defaults.neonProjectId,
  neonApiKeySecret: process.env.NEON_API_KEY_SECRET ?? defaults.neonApiKeySecret,
  sampleSize: { schemaName: 'dms_sample', people: 2_000, events: 100, tickets: 20_000 },
};
const application = new ApplicationStack(app, 'NeonLiveExampleApplicationInteg', { sampleSize: settings.sampleSize });
const migration = new LiveMigrationStack(app, 'NeonLiveMigrationExampleInteg', { vpc: application.vpc, database: application.database, settings });

const integ = new IntegTest(app, 'LiveMigration', { testCases: [application, migration], diffAssets: false });

// after the full load, the indexes and the verification, the task applies the changes
const running = integ.assertions.awsApiCall('@aws-sdk/client-database-migration-service', 'describeReplicationTasks', {
  Filters: [{ Name: 'replication-task-arn', Values: [migration.migration.taskArn] }],
}).expect(ExpectedResult.objectLike({
  ReplicationTasks: Match.arrayWith([Match.objectLike({
    Status: 'running',
    ReplicationTaskStats: Match.objectLike({ FullLoadProgressPercent: 100, TablesErrored: 0 }),
  })]),
})).waitForAssertions({ totalTimeout: Duration.hours(1), interval: Duration.minutes(1) });

// the application's private subnets still leave through their own NAT gateways, and through nothing else
for (const subnet of application.vpc.privateSubnets) {
  running.next(integ.assertions.awsApiCall('EC2', 'describeRouteTables', {
    RouteTableIds: [subnet.routeTable.routeTableId],
  }).expect(ExpectedResult.objectLike({
    RouteTables: [Match.objectLike({
      Routes: Match.arrayWith([Match.objectLike({ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: Match.stringLikeRegexp('^nat-'), State: 'active' })]),
    })],
  })));
}

app.synth();
