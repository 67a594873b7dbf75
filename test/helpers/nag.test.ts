import { App, Stack, aws_dms as dms, aws_iam as iam, aws_kms as kms, aws_s3 as s3 } from 'aws-cdk-lib';
import { expectNagClean, nagFindings } from './nag';
import { acknowledgeRules } from '../../lib/core/nag';

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
    expect(() => expectNagClean(cleanStack())).not.toThrow();
  });

  test('fails on an unencrypted S3 bucket, naming the rule and the construct', () => {
    const stack = cleanStack();
    new s3.CfnBucket(stack, 'Bucket');
    expect(() => expectNagClean(stack)).toThrow(/NIST\.800\.53\.R5-S3DefaultEncryptionKMS {2}S\/Bucket {2}/);
  });

  test('fails on a DMS replication instance that may be public', () => {
    const stack = cleanStack();
    publicInstance(stack, 'Public');
    expect(() => expectNagClean(stack)).toThrow(/1 unacknowledged cdk-nag finding\(s\) in S:\nNIST\.800\.53\.R5-DMSReplicationNotPublic {2}S\/Public {2}\S/);
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
    expect(() => expectNagClean(stack, [
      { id: 'NIST.800.53.R5-DMSReplicationNotPublic', reason: 'Both instances are reached through a VPN only.' },
    ])).not.toThrow();
  });

  test('an acknowledgement of another rule suppresses nothing', () => {
    const stack = cleanStack();
    publicInstance(stack, 'Public');
    expect(() => expectNagClean(stack, [
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

    expect(() => expectNagClean(stack, [
      ...others,
      { id: 'AwsSolutions-IAM5', reason: 'The bare rule id does not cover its findings.' },
    ])).toThrow(/AwsSolutions-IAM5\[Action::s3:Get\*\] {2}S\/Role\/DefaultPolicy\/Resource/);
    expect(() => expectNagClean(stack, [
      ...others,
      { id: 'AwsSolutions-IAM5[Action::s3:Get*]', reason: 'The bucket holds nothing but migration scratch files.' },
    ])).not.toThrow();
  });

  test('honours acknowledgements written in the construct tree', () => {
    const stack = cleanStack();
    const instance = publicInstance(stack, 'Public');
    acknowledgeRules(instance, [{ id: 'NIST.800.53.R5-DMSReplicationNotPublic', reason: 'The instance is reached through a VPN only.' }]);
    expect(() => expectNagClean(stack)).not.toThrow();
  });

  test('rejects a test acknowledgement without a reason', () => {
    const stack = cleanStack();
    publicInstance(stack, 'Public');
    expect(() => expectNagClean(stack, [{ id: 'NIST.800.53.R5-DMSReplicationNotPublic', reason: '' }]))
      .toThrow(/acknowledgement of NIST.800.53.R5-DMSReplicationNotPublic needs a reason of at least 10 characters/);
    expect(() => expectNagClean(stack, [{ id: 'NIST.800.53.R5-DMSReplicationNotPublic', reason: '   ok    ' }]))
      .toThrow(/needs a reason of at least 10 characters/);
  });

  test('rejects an acknowledgement in the construct tree without a reason', () => {
    const stack = cleanStack();
    const instance = publicInstance(stack, 'Public');
    instance.node.addMetadata('aws:cdk:acknowledged-rules', { 'annotation::NIST.800.53.R5-DMSReplicationNotPublic': ' ' });
    expect(() => expectNagClean(stack))
      .toThrow(/S\/Public: acknowledgement of NIST.800.53.R5-DMSReplicationNotPublic needs a reason of at least 10 characters/);
  });

  test('leaves the app free of validation plugins', () => {
    const stack = cleanStack();
    publicInstance(stack, 'Public');
    expect(() => expectNagClean(stack)).toThrow();
    const exitCode = process.exitCode;

    expect(() => (stack.node.root as App).synth({ force: true })).not.toThrow();
    expect(process.exitCode).toBe(exitCode);
  });
});
