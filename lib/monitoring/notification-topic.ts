import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { PUBLISHING_SERVICES } from './task-events';
import { createRotatingKey } from '../core/kms';

/** Properties of a `MigrationNotificationTopic`. */
export interface MigrationNotificationTopicProps {
  /**
   * Name of the SNS topic.
   *
   * @default - CloudFormation generates a name
   */
  readonly topicName?: string;

  /**
   * Display name of the SNS topic (the sender of e-mail notifications).
   *
   * @default 'DMS migration'
   */
  readonly displayName?: string;

  /**
   * Customer-managed KMS key encrypting the topic. Its key policy is extended so CloudWatch,
   * EventBridge and DMS can encrypt messages with it. The AWS-managed key `alias/aws/sns` cannot
   * be used: its policy cannot be changed, so those services could not publish.
   *
   * @default - a new key with rotation enabled
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * What happens to the key created by this construct when it leaves the stack. The topic keeps
   * no messages after delivery, so nothing is lost when the key goes.
   *
   * @default RemovalPolicy.DESTROY (after the 7-day KMS waiting period)
   */
  readonly keyRemovalPolicy?: RemovalPolicy;
}

/**
 * An SNS topic for migration notifications, encrypted with a customer-managed KMS key, that
 * accepts only TLS requests. `MigrationAlarms` allows each of its alarms, rules and event
 * subscriptions to publish to it, one statement per source with an `aws:SourceArn` condition.
 */
export class MigrationNotificationTopic extends Construct {
  /** The topic. Subscribe e-mail addresses, chat integrations or queues to it. */
  public readonly topic: sns.ITopic;

  /** The KMS key encrypting the topic. */
  public readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: MigrationNotificationTopicProps = {}) {
    super(scope, id);

    this.encryptionKey = props.encryptionKey ?? createRotatingKey(this, 'Key', {
      description: 'Encrypts DMS migration notifications (SNS)',
      pendingWindow: Duration.days(7),
      removalPolicy: props.keyRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.encryptionKey.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AllowMigrationNotificationPublishers',
      principals: PUBLISHING_SERVICES.map((service) => new iam.ServicePrincipal(service)),
      actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
      resources: ['*'],
    }));

    this.topic = new sns.Topic(this, 'Resource', {
      topicName: props.topicName,
      displayName: props.displayName ?? 'DMS migration',
      masterKey: this.encryptionKey,
      enforceSSL: true,
    });
  }
}
