import { App, ArnFormat, Environment, Stack, aws_dms as dms, aws_iam as iam, aws_kms as kms, aws_s3 as s3 } from 'aws-cdk-lib';
import { expectNagClean, expectStackNagClean, nagFindings } from './nag';
import { acknowledgeRules, nagFindingId } from '../../lib/core/nag';

function cleanStack(): Stack {
  const stack = new Stack(new App(), 'S');
  new kms.Key(stack, 'Key', { enableKeyRotation: true });
  new dms.CfnReplicationInstance(stack, 'Instance', {
    replicationInstanceClass: 'dms.t3.micro',
    publiclyAccessible: false,
  });
  return stack;
}

function publicInstance(stack: Stack, id: string): dms.CfnReplicationInstance {
  return new dms.CfnReplicationInstance(stack, id, { replicationInstanceClass: 'dms.t3.micro' });
}

describe('expectNagClean', () => {
  test('passes a stack without findings', () => {
    expect(() => expectStackNagClean(cleanStack())).not.toThrow();
  });

  test('fails on an unencrypted S3 bucket, naming the rule and the construct', () => {
    const stack = cleanStack();
    new s3.CfnBucket(stack, 'Bucket');
    expect(() => expectStackNagClean(stack)).toThrow(/NIST\.800\.53\.R5-S3DefaultEncryptionKMS {2}S\/Bucket {2}/);
  });

  test('fails on a DMS replication instance that may be public', () => {
    const stack = cleanStack();
    publicInstance(stack, 'Public');
    expect(() => expectStackNagClean(stack)).toThrow(/1 unacknowledged cdk-nag finding\(s\) in S:\nNIST\.800\.53\.R5-DMSReplicationNotPublic {2}S\/Public {2}\S/);
  });

  test('an acknowledgement with a path pattern suppresses exactly that finding', () => {
    const stack = cleanStack();
    publicInstance(stack, 'First');
    publicInstance(stack, 'Second');
    const ack = { id: 'NIST.800.53.R5-DMSReplicationNotPublic', reason: 'The first instance is reached through a VPN only.', pathPattern: '^S/First$' };

    const findings = nagFindings(stack, [ack]);

    expect(findings.map((f) => `${f.ruleName} ${f.constructPath}`)).toEqual(['NIST.800.53.R5-DMSReplicationNotPublic S/Second']);
  });

  test('an acknowledgement without a path pattern suppresses the rule everywhere', () => {
    const stack = cleanStack();
    publicInstance(stack, 'First');
    publicInstance(stack, 'Second');
    expect(() => expectStackNagClean(stack, [
      { id: 'NIST.800.53.R5-DMSReplicationNotPublic', reason: 'Both instances are reached through a VPN only.' },
    ])).not.toThrow();
  });

  test('an acknowledgement of another rule suppresses nothing', () => {
    const stack = cleanStack();
    publicInstance(stack, 'Public');
    expect(() => expectStackNagClean(stack, [
      { id: 'NIST.800.53.R5-DMSReplication', reason: 'A prefix of the rule id is not the rule id.' },
    ])).toThrow(/NIST\.800\.53\.R5-DMSReplicationNotPublic {2}S\/Public/);
  });

  test('a rule id acknowledges only the finding it names', () => {
    const stack = cleanStack();
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('dms.amazonaws.com') });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:Get*'], resources: ['arn:aws:s3:::bucket/key'] }));
    const others = [
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The policy is owned by the role it is attached to.' },
    ];

    expect(() => expectStackNagClean(stack, [
      ...others,
      { id: 'AwsSolutions-IAM5', reason: 'The bare rule id does not cover its findings.' },
    ])).toThrow(/AwsSolutions-IAM5\[Action::s3:Get\*\] {2}S\/Role\/DefaultPolicy\/Resource/);
    expect(() => expectStackNagClean(stack, [
      ...others,
      { id: 'AwsSolutions-IAM5[Action::s3:Get*]', reason: 'The bucket holds nothing but migration scratch files.' },
    ])).not.toThrow();
  });

  test('honours acknowledgements written in the construct tree', () => {
    const stack = cleanStack();
    const instance = publicInstance(stack, 'Public');
    acknowledgeRules(instance, [{ id: 'NIST.800.53.R5-DMSReplicationNotPublic', reason: 'The instance is reached through a VPN only.' }]);
    expect(() => expectStackNagClean(stack)).not.toThrow();
  });

  test('rejects a test acknowledgement without a reason', () => {
    const stack = cleanStack();
    publicInstance(stack, 'Public');
    expect(() => expectStackNagClean(stack, [{ id: 'NIST.800.53.R5-DMSReplicationNotPublic', reason: '' }]))
      .toThrow(/acknowledgement of NIST.800.53.R5-DMSReplicationNotPublic needs a reason of at least 10 characters/);
    expect(() => expectStackNagClean(stack, [{ id: 'NIST.800.53.R5-DMSReplicationNotPublic', reason: '   ok    ' }]))
      .toThrow(/needs a reason of at least 10 characters/);
  });

  test('rejects an acknowledgement in the construct tree without a reason', () => {
    const stack = cleanStack();
    const instance = publicInstance(stack, 'Public');
    instance.node.addMetadata('aws:cdk:acknowledged-rules', { 'annotation::NIST.800.53.R5-DMSReplicationNotPublic': ' ' });
    expect(() => expectStackNagClean(stack))
      .toThrow(/S\/Public: acknowledgement of NIST.800.53.R5-DMSReplicationNotPublic needs a reason of at least 10 characters/);
  });

  test('leaves the app free of validation plugins', () => {
    const stack = cleanStack();
    publicInstance(stack, 'Public');
    expect(() => expectStackNagClean(stack)).toThrow();
    const exitCode = process.exitCode;

    expect(() => (stack.node.root as App).synth({ force: true })).not.toThrow();
    expect(process.exitCode).toBe(exitCode);
  });
});

describe('expectNagClean with a builder: environment-agnostic and in a concrete account and Region', () => {
  /** A wildcard resource acknowledged by an id spelled with pseudo parameters, as cdk-nag renders it only without an environment. */
  function build(app: App, env?: Environment, ackId = 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:dms:<AWS::Region>:<AWS::AccountId>:task:*]'): Stack {
    const stack = new Stack(app, 'S', { env });
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['dms:StartReplicationTask'], resources: [stack.formatArn({ service: 'dms', resource: 'task', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })] }));
    acknowledgeRules(role, [
      { id: ackId, reason: 'Scoped by a tag condition in the real constructs.' },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The test role has only this policy.' },
    ]);
    return stack;
  }

  test('an acknowledgement id written for the environment-agnostic stack does not hold in a concrete environment', () => {
    expect(() => expectStackNagClean(build(new App()))).not.toThrow();
    expect(() => expectNagClean(build)).toThrow(/AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:dms:us-east-1:123456789012:task:\*\] {2}S\/Role/);
  });

  test('an id rendered from the stack (nagFindingId) holds in both', () => {
    expect(() => expectNagClean((app, env) => {
      const probe = new Stack(new App(), 'S', { env });
      const tasks = probe.formatArn({ service: 'dms', resource: 'task', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
      return build(app, env, nagFindingId(probe, 'AwsSolutions-IAM5', 'Resource', tasks));
    })).not.toThrow();
  });
});
