import { App } from 'aws-cdk-lib';
import { MySqlMigrationExampleStack } from './mysql-example-stack';

// The MySQL example app: `npx cdk synth -a 'npx ts-node --transpile-only lib/example/mysql-app.ts'`.
// Env-agnostic on purpose: it synthesizes without an AWS account.
const app = new App();
new MySqlMigrationExampleStack(app, 'NeonDmsMySqlMigrationExample');
app.synth();
