import { App, Environment, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { MigrationNotificationTopic } from '../../lib/monitoring';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

describe('MigrationNotificationTopic', () => {
  test('creates a rotating key (deleted with the stack by default) and a TLS-only topic encrypted with it', () => {
    const stack = new Stack(new App(), 'S');
    new MigrationNotificationTopic(stack, 'Notifications', { topicName: 'migrations', displayName: 'Orders migration' });
    const template = Template.fromStack(stack);
    const [keyId] = Object.keys(template.findResources('AWS::KMS::Key'));
    template.hasResource('AWS::KMS::Key', {
      Properties: { EnableKeyRotation: true, PendingWindowInDays: 7 },
      DeletionPolicy: 'Delete',
    });
    template.hasResourceProperties('AWS::SNS::Topic', {
      TopicName: 'migrations',
      DisplayName: 'Orders migration',
      KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: [{
          Effect: 'Deny',
          Principal: '*',
          Action: 'sns:Publish',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          Resource: Match.anyValue(),
          Sid: Match.anyValue(),
        }],
      },
    });
  });

  test('a given key is used and its policy lets CloudWatch, EventBridge and DMS encrypt', () => {
    const stack = new Stack(new App(), 'S');
    const key = new kms.Key(stack, 'MyKey', { enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN });
    const notifications = new MigrationNotificationTopic(stack, 'Notifications', { encryptionKey: key });
    expect(notifications.encryptionKey).toBe(key);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as kms.CfnKey), 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({
          Principal: { Service: ['cloudwatch.amazonaws.com', 'events.amazonaws.com', 'dms.amazonaws.com'] },
          Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        })]),
      },
    });
  });

  test('keyRemovalPolicy retains the created key', () => {
    const stack = new Stack(new App(), 'S');
    new MigrationNotificationTopic(stack, 'Notifications', { keyRemovalPolicy: RemovalPolicy.RETAIN });
    Template.fromStack(stack).hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
  });

  test('valid CloudFormation and cdk-nag clean', () => {
    const build = (app: App, env?: Environment) => {
      const stack = new Stack(app, 'S', { env });
      new MigrationNotificationTopic(stack, 'Notifications');
      return stack;
    };
    expectValidCloudFormation(build(new App()));
    expectNagClean(build);
  });
});
