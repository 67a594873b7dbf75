/**
 * The MySQL example, deployed for real: an RDS for MySQL source whose schema DMS Schema Conversion
 * converts into Neon (the deployment succeeds only once the converted schema is in Neon), then a full
 * load into it; asserting that the load finished and every table arrived without errors.
 *
 * Deploying needs an AWS account and a Neon project; NEON_SECRET names the secret holding the Neon
 * connection string. Offline, `npm test` only compares the synthesized templates with the committed snapshot.
 */
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Duration } from 'aws-cdk-lib';
import { MYSQL_EXAMPLE_SCHEMA, MYSQL_SAMPLE_TABLES, MySqlMigrationExampleStack, mySqlExampleSettingsFromContext } from '../lib/example/mysql-example-stack';

const app = new App();
const defaults = mySqlExampleSettingsFromContext(app);
const stack = new MySqlMigrationExampleStack(app, 'NeonDmsMySqlExampleInteg', {
  settings: {
    ...defaults,
    // the name (or ARN) of the secret holding the Neon connection string, when deploying for real
    neonSecret: process.env.NEON_SECRET ?? defaults.neonSecret,
  },
});

const integ = new IntegTest(app, 'MySqlExampleMigration', {
  testCases: [stack],
  diffAssets: false,
});

// The task stops by itself once the full load into the converted tables is done.
const finished = integ.assertions.awsApiCall('@aws-sdk/client-database-migration-service', 'describeReplicationTasks', {
  Filters: [{ Name: 'replication-task-arn', Values: [stack.migration.taskArn] }],
}).expect(ExpectedResult.objectLike({
  ReplicationTasks: Match.arrayWith([Match.objectLike({
    Status: 'stopped',
    StopReason: Match.stringLikeRegexp('FULL_LOAD_ONLY_FINISHED'),
  })]),
})).waitForAssertions({ totalTimeout: Duration.hours(1), interval: Duration.minutes(1) });

// Every table of the sample schema: loaded, validated by DMS, no error row.
let previous = finished;
for (const table of MYSQL_SAMPLE_TABLES) {
  const statistics = integ.assertions.awsApiCall('@aws-sdk/client-database-migration-service', 'describeTableStatistics', {
    ReplicationTaskArn: stack.migration.taskArn,
    Filters: [{ Name: 'table-name', Values: [table] }],
  }).expect(ExpectedResult.objectLike({
    TableStatistics: Match.arrayWith([Match.objectLike({
      SchemaName: MYSQL_EXAMPLE_SCHEMA,
      TableName: table,
      TableState: 'Table completed',
      FullLoadErrorRows: 0,
      ValidationFailedRecords: 0,
    })]),
  })).waitForAssertions({ totalTimeout: Duration.minutes(30), interval: Duration.minutes(1) });
  previous.next(statistics);
  previous = statistics;
}

app.synth();
