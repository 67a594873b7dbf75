import { App, Duration, SecretValue, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { LAYOUTS } from './layouts';
import { DmsMigrationTask } from '../../lib/migration/migration-task';
import { MigrationAlarms, TaskEventNotification } from '../../lib/monitoring';
import { NeonTargetEndpoint } from '../../lib/neon/target-endpoint';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { ReplicationInstance } from '../../lib/replication/replication-instance';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';
import { TemplateJson } from '../helpers/deployed';
import { kindDeployments } from '../provider/all-kinds';

/*
 * Every deployment the deploy-reality models judge as a whole: the test deployments that hold every
 * custom-resource kind (test/provider/all-kinds.ts: the bundled examples, the live-migration example,
 * DMS Serverless, a connection test, a distributed verification) and the migration of the README's
 * Quick start in each existing-VPC layout (test/deploy/layouts.ts), on a replication instance and on
 * DMS Serverless; and a full load waited for longer than a custom resource may wait (the load waiter's
 * state machine) whose alarms notify through EventBridge and a DMS event subscription.
 */

export interface Deployment {
  readonly name: string;
  readonly stack: Stack;
  readonly template: TemplateJson;
  /** The other stacks of its app (the live example's application stack), deployed before it. */
  readonly neighbours: { readonly stack: Stack; readonly template: TemplateJson }[];
}

/** A full load waited for 3 hours (the stack's load waiter), alarms and task events through EventBridge and DMS. */
function longLoadStack(): Stack {
  const stack = new Stack(new App(), 'LongLoad');
  const network = new NatEgressForReplication(stack, 'Network');
  const source = new PostgresSourceEndpoint(stack, 'Source', {
    secret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'SourceSecret', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:source-AbCdEf'),
    databaseName: 'app',
  });
  const target = new NeonTargetEndpoint(stack, 'Neon', {
    connectionString: 'postgresql://app@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require',
    password: SecretValue.secretsManager('neon/password'),
  });
  const replicationInstance = new ReplicationInstance(stack, 'Replication', { network });
  const migration = new DmsMigrationTask(stack, 'Migration', {
    source, target, replicationInstance, schemaName: 'app', waitForCompletion: true, maxWait: Duration.hours(3),
  });
  new MigrationAlarms(stack, 'Alarms', { migration, taskEvents: TaskEventNotification.BOTH });
  return stack;
}

/** The other stacks of `stack`'s app. */
function neighboursOf(stack: Stack): Deployment['neighbours'] {
  return stack.node.root.node.children.filter((c): c is Stack => Stack.isStack(c) && c !== stack)
    .map(other => ({ stack: other, template: Template.fromStack(other).toJSON() as TemplateJson }));
}

let cached: Deployment[] | undefined;

/** The deployments, synthesized once per test file. */
export function allDeployments(): Deployment[] {
  if (cached) return cached;
  const layouts = LAYOUTS.flatMap(layout => [false, true].map(serverless => {
    const { stack } = layout.build(new App(), { migrate: true, serverless });
    return { name: `${layout.name}${serverless ? ', DMS Serverless' : ''}`, stack, template: Template.fromStack(stack).toJSON() as TemplateJson, neighbours: [] };
  }));
  const longLoad = longLoadStack();
  cached = [
    ...kindDeployments().map(d => ({ ...d, neighbours: neighboursOf(d.stack) })),
    ...layouts,
    { name: 'a full load waited for 3 hours, task events through EventBridge and DMS', stack: longLoad, template: Template.fromStack(longLoad).toJSON() as TemplateJson, neighbours: [] },
  ];
  return cached;
}
