import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, Stack } from 'aws-cdk-lib';
import { NeonMigrationExampleStack } from '../lib/example/example-stack';

const app = new App();
const stack: Stack = new NeonMigrationExampleStack(app, 'IntegSkeleton');
new IntegTest(app, 'Skeleton', { testCases: [stack] });
app.synth();
