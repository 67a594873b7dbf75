import { App, Duration, Environment, SecretValue, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { MigrationVerification } from '../../lib/checks';
import { DmsMigrationTask } from '../../lib/migration';
import { NeonTargetEndpoint } from '../../lib/neon';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';
import { MigrationType, TableMappings } from '../../lib/task';

/* A stack with a distributed MigrationVerification, and its synthesized state machine definition. */

const NEON_URI = 'postgresql://daniel@ep-curly-term-54009904.us-east-2.aws.neon.tech/neondb?sslmode=require';
const SOURCE_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:source-db-AbCdEf';

export interface DistributedStackOptions {
  readonly app?: App;
  readonly env?: Environment;
  readonly wait?: boolean;
  readonly timeout?: Duration;
  readonly topic?: boolean;
  readonly migrationType?: MigrationType;
  /** A customer managed key on the Neon credentials secret. */
  readonly credentialsKey?: boolean;
}

export function distributedStack(options: DistributedStackOptions = {}) {
  const app = options.app ?? new App();
  const stack = new Stack(app, 'S', { env: options.env });
  const network = new NatEgressForReplication(stack, 'Network');
  const sourceSecret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'SourceSecret', SOURCE_ARN);
  const target = new NeonTargetEndpoint(stack, 'Neon', {
    connectionString: NEON_URI,
    password: SecretValue.secretsManager('neon/password'),
    credentialsEncryptionKey: options.credentialsKey ? new kms.Key(stack, 'CredentialsKey', { enableKeyRotation: true }) : undefined,
  });
  const sourceEndpoint = new PostgresSourceEndpoint(stack, 'Source', { secret: sourceSecret, databaseName: 'app', logicalReplicationEnabled: true });
  const task = new DmsMigrationTask(stack, 'Migration', {
    source: sourceEndpoint,
    target,
    network,
    tableMappings: TableMappings.includeSchema('app'),
    migrationType: options.migrationType ?? MigrationType.FULL_LOAD,
    waitForCompletion: true,
  });
  const verification = MigrationVerification.forTask(stack, 'Verification', {
    task,
    network,
    sourceSecret,
    sourceDatabaseName: 'app',
    targetSecret: target.clientCredentialsSecret,
    distributed: {
      maxConcurrency: 8,
      wait: options.wait,
      timeout: options.timeout,
      notificationTopic: options.topic ? new sns.Topic(stack, 'Topic', { enforceSSL: true, masterKey: new kms.Key(stack, 'TopicKey', { enableKeyRotation: true }) }) : undefined,
    },
  });
  return { app, stack, task, verification, network, sourceSecret, target };
}

/** The state machine definition the stack synthesizes, with its references replaced by `refs` (logical id → value). */
export function synthesizedDefinition(stack: Stack, refs: (logicalId: string, attribute?: string) => string): Record<string, any> {
  const template = Template.fromStack(stack).toJSON();
  const [, machine] = Object.entries<any>(template.Resources).find(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine'
    && JSON.stringify(r.Properties.DefinitionString).includes('"Action\\":\\"plan\\"'))!;
  const render = (value: any): string => {
    if (typeof value === 'string') return value;
    if (value['Fn::Join']) return value['Fn::Join'][1].map(render).join(value['Fn::Join'][0]);
    if (value.Ref) return refs(value.Ref);
    if (value['Fn::GetAtt']) return refs(value['Fn::GetAtt'][0], value['Fn::GetAtt'][1]);
    throw new Error(`unexpected ${JSON.stringify(value)}`);
  };
  return JSON.parse(render(machine.Properties.DefinitionString));
}
