import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { allDeployments } from './deployments';
import { allowLogsToUseKey } from '../../lib/core/log-groups';
import { DeployedTemplate, TemplateJson } from '../helpers/deployed';
import { IamModel } from '../helpers/iam-simulation';
import {
  SERVICE_USES, StandInTemplate, decideAll, serviceFindings, serviceRequests, uncovered,
} from '../helpers/service-requests';

/*
 * The requests AWS services make on the stack's behalf against resources with a policy — CloudWatch
 * Logs using a log group's key, CloudWatch, EventBridge and DMS publishing to a topic, DMS and DMS
 * Schema Conversion reading secrets and writing buckets through the roles they assume, Step Functions
 * reading and writing S3, CodeBuild, the storage keys of DMS, the emptying of a bucket on deletion —
 * catalogued from AWS's documentation (test/helpers/service-requests.ts) and decided by IAM's
 * evaluation of the template's key, bucket, topic and trust policies (test/helpers/iam-simulation.ts),
 * for every deployment the deploy models judge.
 */

function deployed(stack: Stack): DeployedTemplate {
  return new StandInTemplate(Template.fromStack(stack).toJSON() as TemplateJson, { stackName: stack.stackName });
}

async function deniedOf(stack: Stack, use: string): Promise<{ requests: number; denied: string[] }> {
  const d = deployed(stack);
  const model = IamModel.of(d);
  const requests = SERVICE_USES.find(u => u.id === use)!.requests(d, model);
  return { requests: requests.length, ...await decideAll(model, requests) };
}

describe('the model decides by AWS\'s rules', () => {
  /** A log group encrypted with a key whose policy lets CloudWatch Logs use it under `condition`. */
  function encryptedLogGroup(condition: (stack: Stack, key: kms.Key, name: string) => void): Stack {
    const stack = new Stack(new App(), 'Logs');
    const key = new kms.Key(stack, 'Key');
    const name = '/cdk-neon-migration/Logs-Builds-0123ABCD/builds';
    condition(stack, key, name);
    new logs.LogGroup(stack, 'Group', { logGroupName: name, encryptionKey: key });
    return stack;
  }

  test('a key policy naming log groups in the slash form (`…:log-group/*`, formatArn\'s default) lets CloudWatch Logs use the key for none', async () => {
    const stack = encryptedLogGroup((s, key) => key.addToResourcePolicy(new iam.PolicyStatement({
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      principals: [new iam.ServicePrincipal(`logs.${s.region}.amazonaws.com`)],
      resources: ['*'],
      conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': s.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*' }) } },
    })));
    const { requests, denied } = await deniedOf(stack, 'logs-kms');
    expect(requests).toBe(5);
    expect(denied).toHaveLength(5);
    expect(denied[0]).toMatch(/logs\.us-east-1\.amazonaws\.com: kms:Encrypt on arn:aws:kms:us-east-1:123456789012:key\/.* \(ImplicitlyDenied\)/);
  });

  test('the colon form of the log group\'s own ARN lets CloudWatch Logs use the key; `Fn::GetAtt Arn` (ending in `:*`) does not', async () => {
    expect((await deniedOf(encryptedLogGroup((s, key, name) => allowLogsToUseKey(s, key, name)), 'logs-kms')).denied).toEqual([]);
    const withGetAtt = encryptedLogGroup((s, key, name) => key.addToResourcePolicy(new iam.PolicyStatement({
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      principals: [new iam.ServicePrincipal(`logs.${s.region}.amazonaws.com`)],
      resources: ['*'],
      conditions: { ArnEquals: { 'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${s.region}:${s.account}:log-group:${name}:*` } },
    })));
    expect((await deniedOf(withGetAtt, 'logs-kms')).denied).toHaveLength(5);
  });

  test('a topic policy and key policy that do not name CloudWatch keep an alarm from publishing', async () => {
    const stack = new Stack(new App(), 'Topic');
    const key = new kms.Key(stack, 'Key');
    const topic = new sns.Topic(stack, 'Topic', { masterKey: key, enforceSSL: true });
    new cloudwatch.Alarm(stack, 'Alarm', { metric: new cloudwatch.Metric({ namespace: 'N', metricName: 'M' }), threshold: 1, evaluationPeriods: 1 })
      .addAlarmAction(new cloudwatchActions.SnsAction(topic));
    expect((await deniedOf(stack, 'alarm-publish')).denied.map(line => line.replace(/ on .*/, ''))).toEqual([
      '[alarm-publish] cloudwatch.amazonaws.com: sns:Publish',
      '[alarm-publish] cloudwatch.amazonaws.com: kms:GenerateDataKey',
      '[alarm-publish] cloudwatch.amazonaws.com: kms:Decrypt',
    ]);
  });

  test('a bucket policy refusing requests without TLS refuses them (aws:SecureTransport), and admits them with it', async () => {
    const stack = new Stack(new App(), 'Bucket');
    const bucket = new s3.Bucket(stack, 'Bucket', { enforceSSL: true });
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('dms.amazonaws.com') });
    bucket.grantReadWrite(role);
    const d = deployed(stack);
    const model = IamModel.of(d);
    const request = { action: 's3:PutObject', resource: `arn:aws:s3:::${d.ref(stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket))}/key` };
    const principal = { role: stack.getLogicalId(role.node.defaultChild as iam.CfnRole) };
    expect((await model.decideFor(principal, request)).result).toBe('Allowed');
    expect((await model.decideFor(principal, { ...request, context: { 'aws:SecureTransport': 'false' } })).result).toBe('ExplicitlyDenied');
  });
});

describe.each(allDeployments().map(d => [d.name, d] as const))('%s', (_name, deployment) => {
  let d: DeployedTemplate;
  beforeAll(() => {
    d = new StandInTemplate(deployment.template, { stackName: deployment.stack.stackName });
    d.neighbours = deployment.neighbours.map(n => new StandInTemplate(n.template, { stackName: n.stack.stackName }));
  });

  test('every request a service makes on the stack\'s behalf is allowed by the resource\'s policy (and the role it acts through)', async () => {
    const requests = serviceRequests(d);
    expect(requests.length).toBeGreaterThan(0);
    const { denied } = await decideAll(IamModel.of(d), requests);
    expect(denied).toEqual([]);
  });

  test('no service rule is broken (Step Functions logs under /aws/vendedlogs/)', () => {
    expect(serviceFindings(d)).toEqual([]);
  });

  test('every key, bucket, topic, secret and encrypted log group is handed only to service uses the catalogue models', () => {
    expect(uncovered(deployment.template)).toEqual([]);
  });
});
