/**
 * The bundled example, deployed for real: Neon's guide scenario end to end, asserting that the full
 * load finished and every table arrived, validated and without errors.
 *
 * Deploying needs an AWS account and a Neon project; see README "Example" for the secret. Offline,
 * `npm test` only compares the synthesized templates with the committed snapshot.
 */
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Duration } from 'aws-cdk-lib';
import { NeonMigrationExampleStack, exampleSettingsFromContext } from '../lib/example/example-stack';
import { SAMPLE_TABLES } from '../lib/example/sample-schema';

const app = new App();
const defaults = exampleSettingsFromContext(app);
const stack = new NeonMigrationExampleStack(app, 'NeonDmsExampleInteg', {
  settings: {
    ...defaults,
    // the name (or ARN) of the secret holding the Neon connection string, when deploying for real
    neonSecret: process.env.NEON_SECRET ?? defaults.neonSecret,
    sampleSize: { schemaName: 'dms_sample', people: 2_000, events: 100, tickets: 20_000 },
  },
});

const integ = new IntegTest(app, 'ExampleMigration', {
  testCases: [stack],
  diffAssets: false,
});

// The task stops by itself once the full load is done.
const finished = integ.assertions.awsApiCall('@aws-sdk/client-database-migration-service', 'describeReplicationTasks', {
  Filters: [{ Name: 'replication-task-arn', Values: [stack.migration.taskArn] }],
}).expect(ExpectedResult.objectLike({
  ReplicationTasks: Match.arrayWith([Match.objectLike({
    Status: 'stopped',
    StopReason: Match.stringLikeRegexp('FULL_LOAD_ONLY_FINISHED'),
  })]),
})).waitForAssertions({ totalTimeout: Duration.hours(1), interval: Duration.minutes(1) });

// Every table: loaded, validated by DMS, no error row.
let previous = finished;
for (const table of SAMPLE_TABLES) {
  const statistics = integ.assertions.awsApiCall('@aws-sdk/client-database-migration-service', 'describeTableStatistics', {
    ReplicationTaskArn: stack.migration.taskArn,
    Filters: [{ Name: 'table-name', Values: [table] }],
  }).expect(ExpectedResult.objectLike({
    TableStatistics: Match.arrayWith([Match.objectLike({
      SchemaName: 'dms_sample',
      TableName: table,
      TableState: 'Table completed',
      ValidationState: 'Validated',
      FullLoadErrorRows: 0,
      ValidationFailedRecords: 0,
    })]),
  })).waitForAssertions({ totalTimeout: Duration.minutes(30), interval: Duration.minutes(1) });
  previous.next(statistics);
  previous = statistics;
}

app.synth();
