import { App } from 'aws-cdk-lib';
import { NeonMigrationExampleStack } from './example-stack';

// The app `npx cdk synth` / `npx cdk deploy` runs (see cdk.json). Env-agnostic on purpose:
// it synthesizes without an AWS account.
const app = new App();
new NeonMigrationExampleStack(app, 'NeonDmsMigrationExample');
app.synth();
