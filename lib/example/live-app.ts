import { App } from 'aws-cdk-lib';
import { ApplicationStack, LiveMigrationStack, liveExampleSettingsFromContext } from './live-example-stack';

// The live-migration example: `npx cdk synth -a 'npx ts-node --transpile-only lib/example/live-app.ts'`.
// Two stacks, as teams have them: the application (its VPC with NAT egress and its database) and the
// migration, added next to it. Env-agnostic on purpose: it synthesizes without an AWS account.
const app = new App();
const settings = liveExampleSettingsFromContext(app);
const application = new ApplicationStack(app, 'NeonLiveExampleApplication', { sampleSize: settings.sampleSize });
new LiveMigrationStack(app, 'NeonLiveMigrationExample', { vpc: application.vpc, database: application.database, settings });
app.synth();
