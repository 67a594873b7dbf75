import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { completeSecretArn } from '../../lib/secrets/complete-arn';

function stack(): Stack {
  return new Stack(new App(), 'S');
}

function resolver(template: Template): { id: string; secrets: Record<string, { SecretId: unknown; Property: string }> } {
  const found = Object.entries<any>(template.findResources('Custom::NeonDmsSecretArns'));
  expect(found).toHaveLength(1);
  return { id: found[0][0], secrets: found[0][1].Properties.Secrets };
}

function describeSecretResources(template: Template): unknown[] {
  return Object.values<any>(template.findResources('AWS::IAM::Policy'))
    .flatMap(p => p.Properties.PolicyDocument.Statement)
    .filter((s: any) => s.Action === 'secretsmanager:DescribeSecret')
    .flatMap((s: any) => [s.Resource].flat());
}

describe('completeSecretArn', () => {
  test('a secret of the app or imported with its complete ARN is handed over as it is: nothing to look up', () => {
    const s = stack();
    const own = new secretsmanager.Secret(s, 'Own');
    const complete = secretsmanager.Secret.fromSecretCompleteArn(s, 'Complete', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:neon/url-AbCdEf');
    expect(s.resolve(completeSecretArn(s, own, 'secret'))).toEqual({ Ref: s.getLogicalId(own.node.defaultChild as secretsmanager.CfnSecret) });
    expect(completeSecretArn(s, complete, 'secret')).toBe('arn:aws:secretsmanager:us-east-1:123456789012:secret:neon/url-AbCdEf');
    Template.fromStack(s).resourceCountIs('Custom::NeonDmsSecretArns', 0);
  });

  test('secrets known by name: one resource of the stack looks up every complete ARN; one DescribeSecret statement names each secret', () => {
    const s = stack();
    const a = secretsmanager.Secret.fromSecretNameV2(s, 'A', 'neon/url');
    const b = secretsmanager.Secret.fromSecretNameV2(s, 'B', 'source/app');
    const arnA = completeSecretArn(s, a, 'connectionStringSecret');
    const arnB = completeSecretArn(s, b, 'secret');
    // the same secret given twice is looked up once
    const again = completeSecretArn(s, secretsmanager.Secret.fromSecretNameV2(s, 'A2', 'neon/url'), 'connectionStringSecret');
    const template = Template.fromStack(s);

    const { id, secrets } = resolver(template);
    expect(Object.values(secrets)).toHaveLength(2);
    expect(Object.values(secrets)).toEqual(expect.arrayContaining([
      { SecretId: 'neon/url', Property: 'connectionStringSecret' },
      { SecretId: 'source/app', Property: 'secret' },
    ]));
    const attributeOf = (name: string) => Object.keys(secrets).find(k => secrets[k].SecretId === name)!;
    expect(s.resolve(arnA)).toEqual({ 'Fn::GetAtt': [id, attributeOf('neon/url')] });
    expect(s.resolve(arnB)).toEqual({ 'Fn::GetAtt': [id, attributeOf('source/app')] });
    expect(s.resolve(again)).toEqual(s.resolve(arnA));
    expect(describeSecretResources(template)).toEqual([
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':secret:neon/url-??????']] },
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':secret:source/app-??????']] },
    ]);
  });

  test('a name ending in a hyphen and six characters: a warning, and the lookup goes by name (a partial ARN of it finds nothing)', () => {
    const s = stack();
    const byName = secretsmanager.Secret.fromSecretNameV2(s, 'Url', 'neon/connection-string');
    const byPartialArn = secretsmanager.Secret.fromSecretPartialArn(s, 'Other', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:neon/api-key-abcdef');
    completeSecretArn(s, byName, 'connectionStringSecret');
    completeSecretArn(s, byPartialArn, 'neonIpAllow.apiKeySecret');
    const template = Template.fromStack(s);
    expect(Object.values(resolver(template).secrets).map(x => x.SecretId).sort()).toEqual(['neon/api-key-abcdef', 'neon/connection-string']);
    const warnings = Annotations.fromStack(s).findWarning('/S', Match.stringLikeRegexp('ends in a hyphen and six characters'));
    expect(warnings.map(w => String(w.entry.data))).toEqual([
      expect.stringContaining("connectionStringSecret: the secret name 'neon/connection-string' ends in a hyphen and six characters"),
      expect.stringContaining("neonIpAllow.apiKeySecret: the secret name 'neon/api-key-abcdef' ends in a hyphen and six characters"),
    ]);
  });

  test('a partial ARN of another account is looked up by that ARN (a name would search this account)', () => {
    const s = stack();
    const shared = secretsmanager.Secret.fromSecretPartialArn(s, 'Shared', 'arn:aws:secretsmanager:us-east-1:210987654321:secret:shared/neon');
    completeSecretArn(s, shared, 'connectionStringSecret');
    expect(Object.values(resolver(Template.fromStack(s)).secrets)).toEqual([
      { SecretId: 'arn:aws:secretsmanager:us-east-1:210987654321:secret:shared/neon', Property: 'connectionStringSecret' },
    ]);
  });
});
