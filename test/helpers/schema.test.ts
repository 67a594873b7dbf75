import { App, CfnResource, CustomResource, Fn, Stack, aws_dms as dms, aws_iam as iam, aws_lambda as lambda } from 'aws-cdk-lib';
import { expectValidCloudFormation, specificationLoadMillis, validateTemplate } from './schema';

function stackWith(build: (stack: Stack) => void): Stack {
  const stack = new Stack(new App(), 'S');
  build(stack);
  return stack;
}

function endpoint(stack: Stack): dms.CfnEndpoint {
  return new dms.CfnEndpoint(stack, 'MyEndpoint', {
    endpointType: 'target',
    engineName: 'postgres',
    sslMode: 'require',
    port: 5432,
    postgreSqlSettings: { secretsManagerSecretId: 'neon-credentials', heartbeatEnable: true },
  });
}

function instance(stack: Stack): dms.CfnReplicationInstance {
  return new dms.CfnReplicationInstance(stack, 'Instance', {
    replicationInstanceClass: 'dms.t3.medium',
    allocatedStorage: 50,
    publiclyAccessible: false,
  });
}

describe('expectValidCloudFormation', () => {
  test('passes a stack of valid resources, including L2 constructs and custom resources', () => {
    const stack = stackWith((s) => {
      endpoint(s);
      instance(s);
      const fn = new lambda.Function(s, 'Fn', {
        runtime: lambda.Runtime.NODEJS_20_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => ({});'),
      });
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['dms:DescribeEndpoints'], resources: ['*'] }));
      new CustomResource(s, 'Custom', { serviceToken: fn.functionArn, resourceType: 'Custom::Anything', properties: { Free: { Form: 1 } } });
      new CfnResource(s, 'Plain', { type: 'AWS::CloudFormation::CustomResource', properties: { ServiceToken: fn.functionArn, Any: 'thing' } });
    });
    expect(() => expectValidCloudFormation(stack)).not.toThrow();
  });

  test('reports an unknown property', () => {
    const stack = stackWith((s) => endpoint(s).addPropertyOverride('Bogus', 1));
    expect(() => expectValidCloudFormation(stack)).toThrow(/MyEndpoint \(AWS::DMS::Endpoint\): unknown property Bogus/);
  });

  test('reports an unknown property inside a nested type', () => {
    const stack = stackWith((s) => endpoint(s).addPropertyOverride('PostgreSqlSettings.Nope', 'x'));
    expect(() => expectValidCloudFormation(stack)).toThrow(/MyEndpoint \(AWS::DMS::Endpoint\): unknown property PostgreSqlSettings\.Nope/);
  });

  test('reports a missing required property', () => {
    const stack = stackWith((s) => instance(s).addPropertyDeletionOverride('ReplicationInstanceClass'));
    expect(() => expectValidCloudFormation(stack))
      .toThrow(/Instance \(AWS::DMS::ReplicationInstance\): missing required property ReplicationInstanceClass/);
  });

  test('reports values of the wrong type', () => {
    const stack = stackWith((s) => {
      const ri = instance(s);
      ri.addPropertyOverride('AllocatedStorage', { a: 1 });
      ri.addPropertyOverride('PubliclyAccessible', { b: 2 });
      endpoint(s).addPropertyOverride('PostgreSqlSettings.HeartbeatEnable', 'sometimes');
    });
    let message = '';
    try {
      expectValidCloudFormation(stack);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^3 CloudFormation schema problem\(s\) in S:/);
    expect(message).toMatch(/Instance \(AWS::DMS::ReplicationInstance\): wrong type for AllocatedStorage: expected integer, got object/);
    expect(message).toMatch(/Instance \(AWS::DMS::ReplicationInstance\): wrong type for PubliclyAccessible: expected boolean, got object/);
    expect(message).toMatch(/MyEndpoint \(AWS::DMS::Endpoint\): wrong type for PostgreSqlSettings\.HeartbeatEnable: expected boolean, got string "sometimes"/);
  });

  test('accepts intrinsic functions wherever a value is expected', () => {
    const stack = stackWith((s) => {
      const ri = instance(s);
      ri.addPropertyOverride('AllocatedStorage', Fn.importValue('Storage'));
      ri.addPropertyOverride('PubliclyAccessible', { 'Fn::If': ['Cond', true, false] });
      ri.addPropertyOverride('VpcSecurityGroupIds', [{ Ref: 'Sg' }, Fn.getAtt('Other', 'GroupId')]);
      endpoint(s).addPropertyOverride('PostgreSqlSettings', { Ref: 'Settings' });
    });
    expect(() => expectValidCloudFormation(stack)).not.toThrow();
  });

  test('accepts numbers and booleans written as strings', () => {
    const stack = stackWith((s) => {
      const ri = instance(s);
      ri.addPropertyOverride('AllocatedStorage', '50');
      ri.addPropertyOverride('PubliclyAccessible', 'false');
      endpoint(s).addPropertyOverride('Port', '5432');
    });
    expect(() => expectValidCloudFormation(stack)).not.toThrow();
  });

  test('reports an unknown resource type and skips custom ones', () => {
    expect(validateTemplate({
      Resources: {
        Made: { Type: 'AWS::DMS::MadeUp', Properties: {} },
        Mine: { Type: 'Custom::Mine', Properties: { Anything: { goes: true } } },
      },
    })).toEqual(['Made (AWS::DMS::MadeUp): unknown resource type']);
  });

  test('checks arrays, maps and tags element by element', () => {
    expect(validateTemplate({
      Resources: {
        Instance: {
          Type: 'AWS::DMS::ReplicationInstance',
          Properties: {
            ReplicationInstanceClass: 'dms.t3.micro',
            VpcSecurityGroupIds: ['sg-1', { id: 'sg-2' }],
            Tags: [{ Key: 'team', Value: 'data' }, { Key: 'env' }],
          },
        },
        Fn: {
          Type: 'AWS::Lambda::Function',
          Properties: {
            Role: 'arn',
            Code: { ZipFile: 'x' },
            Environment: { Variables: { OK: 'yes', BAD: ['no'] } },
          },
        },
      },
    })).toEqual([
      'Instance (AWS::DMS::ReplicationInstance): wrong type for VpcSecurityGroupIds.1: expected string, got object',
      'Instance (AWS::DMS::ReplicationInstance): missing required property Tags.1.Value',
      'Fn (AWS::Lambda::Function): wrong type for Environment.Variables.BAD: expected string, got array',
    ]);
  });

  test('loads the specification once: later validations reuse it', () => {
    const loadMillis = specificationLoadMillis();
    const stack = stackWith((s) => {
      endpoint(s);
      instance(s);
    });
    expectValidCloudFormation(stack);
    // the same load: the specification was not read again
    expect(specificationLoadMillis()).toBe(loadMillis);
  });
});
