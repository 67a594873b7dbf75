import * as crypto from 'crypto';
import { App, CfnParameter, Environment, SecretValue, Stack, Token } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { EndpointType } from '../../lib/core/interfaces';
import { NeonSslMode, NeonTargetEndpoint, NeonTargetEndpointProps } from '../../lib/neon';
import { ISRG_ROOT_X1_PEM } from '../../lib/neon/isrg-root-x1';
import { IReplicationInstance, ReplicationInstance } from '../../lib/replication/replication-instance';
import { expectSecretAbsent, findSecretInAssembly, testApp } from '../helpers/leak';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

const URI = 'postgresql://daniel@ep-curly-term-54009904.us-east-2.aws.neon.tech/neondb?sslmode=require';
const HOST = 'ep-curly-term-54009904.us-east-2.aws.neon.tech';
const CANARY = 'Pw-leak-canary-7f3a91';
const INSTANCE_ARN = 'arn:aws:dms:us-east-2:123456789012:rep:INSTANCE1';


function newStack(app: App = new App()): Stack {
  return new Stack(app, 'S');
}

/** The replication instance the connection tests run from, imported into `stack`. */
function instance(stack: Stack): IReplicationInstance {
  return ReplicationInstance.fromReplicationInstanceAttributes(stack, 'Instance', { replicationInstanceArn: INSTANCE_ARN, replicationInstanceIdentifier: 'instance-1' });
}

function endpoint(props: NeonTargetEndpointProps, stack: Stack = newStack()): { stack: Stack; neon: NeonTargetEndpoint; template: Template } {
  const neon = new NeonTargetEndpoint(stack, 'Neon', props);
  return { stack, neon, template: Template.fromStack(stack) };
}

const password = () => SecretValue.secretsManager('neon/password');

/**
 * The conditions of every kms:Decrypt grant to `roleLogicalId`, in its policies or in key policies
 * (aws-cdk-lib writes a same-stack key's grant into the key policy).
 */
function decryptGrants(template: Template, roleLogicalId: string): unknown[] {
  const roleArn = JSON.stringify({ 'Fn::GetAtt': [roleLogicalId, 'Arn'] });
  const statements: any[] = [];
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    if (JSON.stringify(policy.Properties.Roles).includes(`"${roleLogicalId}"`)) {
      statements.push(...policy.Properties.PolicyDocument.Statement);
    }
  }
  for (const key of Object.values(template.findResources('AWS::KMS::Key'))) {
    statements.push(...key.Properties.KeyPolicy.Statement.filter((s: any) => JSON.stringify(s.Principal ?? {}).includes(roleArn)));
  }
  return statements
    .filter(s => [s.Action].flat().includes('kms:Decrypt'))
    .map(s => s.Condition?.StringEquals ?? 'unconditional');
}

/**
 * The shared custom-resource provider's framework findings: the provider acknowledges them with
 * bare rule ids, which do not name these exact findings.
 */
const PROVIDER_FRAMEWORK_ACKS = [
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
  'AwsSolutions-IAM5[Resource::<NeonDmsMigrationProviderOnEvent4471F7DC.Arn>:*]',
  'AwsSolutions-IAM5[Resource::<NeonDmsMigrationProviderIsComplete481BE9D2.Arn>:*]',
  'AwsSolutions-IAM5[Resource::<NeonDmsMigrationProviderframeworkisComplete197DB1EB.Arn>:*]',
  'AwsSolutions-IAM5[Resource::<NeonDmsMigrationProviderframeworkonTimeout8FD6857C.Arn>:*]',
].map(id => ({ id, reason: 'Provider framework internals of the shared custom-resource provider.', pathPattern: '^S/NeonDmsMigrationProvider/Provider/' }));

describe('connection string + password', () => {
  test('creates a postgres target endpoint that reads its credentials from Secrets Manager', () => {
    const { neon, template, stack } = endpoint({ connectionString: URI, password: password() });

    template.resourceCountIs('AWS::DMS::Endpoint', 1);
    template.hasResourceProperties('AWS::DMS::Endpoint', {
      EndpointType: 'target',
      EngineName: 'postgres',
      SslMode: 'require',
      DatabaseName: 'neondb',
      EndpointIdentifier: stack.resolve(neon.endpointIdentifier),
      PostgreSqlSettings: {
        SecretsManagerSecretId: { Ref: stack.getLogicalId(neon.credentialsSecret.node.defaultChild as secretsmanager.CfnSecret) },
        SecretsManagerAccessRoleArn: { 'Fn::GetAtt': [stack.getLogicalId(neon.accessRole.node.defaultChild as any), 'Arn'] },
      },
      Username: Match.absent(),
      Password: Match.absent(),
      ServerName: Match.absent(),
      Port: Match.absent(),
      CertificateArn: Match.absent(),
    });
    expect(neon.endpoint.node.id).toBe('Resource');
    expect(neon.engineName).toBe('postgres');
    expect(neon.endpointType).toBe('target');
    expect(neon.neonEndpointId).toBe('ep-curly-term-54009904');
    expect(neon.host).toBe(HOST);
    expect(neon.port).toBe(5432);
    expect(neon.databaseName).toBe('neondb');
    expect(neon.sslMode).toBe(NeonSslMode.REQUIRE);
    expect(stack.resolve(neon.endpointArn)).toEqual({ Ref: stack.getLogicalId(neon.endpoint) });
    expect(Stack.of(neon).resolve(neon.endpointIdentifier)).toMatch(/^s-neon-[0-9a-f]{8}-[0-9a-f]{8}$/);
    expect(neon.connectionTest).toBeUndefined();
    template.resourceCountIs('Custom::DmsConnectionTest', 0);
  });

  test('writes the DMS secret with the endpoint-in-password form, the clients\' with the plain password, each with only a reference to the password', () => {
    const { template, stack, neon } = endpoint({ connectionString: URI, password: password() });

    const secrets = template.findResources('AWS::SecretsManager::Secret');
    expect(Object.keys(secrets).sort()).toEqual([
      stack.getLogicalId(neon.clientCredentialsSecret.node.defaultChild as secretsmanager.CfnSecret),
      stack.getLogicalId(neon.credentialsSecret.node.defaultChild as secretsmanager.CfnSecret),
    ].sort());
    const written = (secret: secretsmanager.ISecret) => {
      const value = secrets[stack.getLogicalId(secret.node.defaultChild as secretsmanager.CfnSecret)].Properties.SecretString;
      expect(typeof value).toBe('string');
      return JSON.parse(value);
    };
    const common = { engine: 'postgres', username: 'daniel', host: HOST, port: 5432, dbname: 'neondb' };
    // DMS sends no SNI: Neon reads the endpoint from the password
    expect(written(neon.credentialsSecret)).toEqual({ ...common, password: 'endpoint=ep-curly-term-54009904${{resolve:secretsmanager:neon/password:SecretString:::}}' });
    // clients that send SNI authenticate with the password as it is
    expect(written(neon.clientCredentialsSecret)).toEqual({ ...common, password: '{{resolve:secretsmanager:neon/password:SecretString:::}}' });
  });

  test('joins a CfnParameter password without resolving it', () => {
    const stack = newStack();
    const param = new CfnParameter(stack, 'NeonPassword', { noEcho: true });
    const { template } = endpoint({ connectionString: URI, password: SecretValue.cfnParameter(param) }, stack);

    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      SecretString: {
        'Fn::Join': ['', Match.arrayWith([
          Match.stringLikeRegexp('"password":"endpoint=ep-curly-term-54009904\\$$'),
          { Ref: 'NeonPassword' },
        ])],
      },
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      SecretString: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('"password":"$'), { Ref: 'NeonPassword' }])] },
    });
  });

  test('the access role trusts the regional DMS principal and reads only the credentials secret', () => {
    const { template, stack, neon } = endpoint({ connectionString: URI, password: password() });

    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: { 'Fn::Join': ['', ['dms.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
        }],
      },
    });
    const secretId = stack.getLogicalId(neon.credentialsSecret.node.defaultChild as secretsmanager.CfnSecret);
    const roleId = stack.getLogicalId(neon.accessRole.node.defaultChild as any);
    // an inline policy of the role: no AWS::IAM::Policy resource per endpoint
    expect(template.toJSON().Resources[roleId].Properties.Policies).toEqual([{
      PolicyName: 'ReadCredentials',
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [{
          Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          Effect: 'Allow',
          Resource: { Ref: secretId },
        }],
      },
    }]);
    template.resourceCountIs('AWS::IAM::Policy', 0);
    // DMS checks the role when the endpoint is created
    const endpoints = template.findResources('AWS::DMS::Endpoint');
    expect(Object.values(endpoints)[0].DependsOn).toEqual(expect.arrayContaining([roleId]));
  });

  test('a customer managed key encrypts the secret and the access role may decrypt through Secrets Manager', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const { template, neon } = endpoint({ connectionString: URI, password: password(), credentialsEncryptionKey: key }, stack);
    const keyArn = { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as kms.CfnKey), 'Arn'] };

    template.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: keyArn });
    expect(decryptGrants(template, stack.getLogicalId(neon.accessRole.node.defaultChild as any))).toEqual([
      { 'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
    ]);
  });

  test('without a customer managed key the access role has no KMS permission', () => {
    const { template, stack, neon } = endpoint({ connectionString: URI, password: password() });
    expect(decryptGrants(template, stack.getLogicalId(neon.accessRole.node.defaultChild as any))).toEqual([]);
    template.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: Match.absent() });
  });

  test('honours a custom port and other Neon clouds', () => {
    const { neon, template } = endpoint({
      connectionString: 'postgresql://app@ep-cool-darkness-123456.eastus2.azure.neon.tech:6543/appdb',
      password: password(),
    });
    expect(neon.port).toBe(6543);
    expect(neon.neonEndpointId).toBe('ep-cool-darkness-123456');
    const secretString = Object.values(template.findResources('AWS::SecretsManager::Secret'))[0].Properties.SecretString;
    expect(JSON.parse(secretString)).toMatchObject({ port: 6543, host: 'ep-cool-darkness-123456.eastus2.azure.neon.tech', dbname: 'appdb', username: 'app' });
  });

  test('uses the given endpoint identifier', () => {
    const { template } = endpoint({ connectionString: URI, password: password(), endpointIdentifier: 'neon' });
    template.hasResourceProperties('AWS::DMS::Endpoint', { EndpointIdentifier: 'neon' });
  });

  test('warns that a plain-text password is written into the template', () => {
    const { stack } = endpoint({ connectionString: URI, password: SecretValue.unsafePlainText(CANARY) });
    Annotations.fromStack(stack).hasWarning('/S/Neon', Match.stringLikeRegexp('password is a plain-text SecretValue: it is written into the CloudFormation template'));
  });

  test('a plain-text password with characters DMS refuses for PostgreSQL fails at synth, naming them and not the password', () => {
    const stack = newStack();
    expect(() => new NeonTargetEndpoint(stack, 'Neon', { connectionString: URI, password: SecretValue.unsafePlainText('abc{def}') }))
      .toThrow("NeonTargetEndpoint: password contains '{', '}', which DMS does not accept in PostgreSQL endpoint passwords: reset the role's password in the Neon console.");
  });

  test('warns about an ssm-secure password, which CloudFormation does not resolve in secrets', () => {
    const { stack } = endpoint({ connectionString: URI, password: SecretValue.ssmSecure('/neon/password') });
    Annotations.fromStack(stack).hasWarning('/S/Neon', Match.stringLikeRegexp('password is an ssm-secure reference'));
  });

  test('no warning for a Secrets Manager password', () => {
    const { stack } = endpoint({ connectionString: URI, password: password() });
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });
});

describe('host, databaseName, username + password', () => {
  test('builds the same endpoint from the parts', () => {
    const { neon, template } = endpoint({ host: HOST, databaseName: 'neondb', username: 'daniel', port: 5433, password: password() });
    expect(neon.neonEndpointId).toBe('ep-curly-term-54009904');
    expect(neon.port).toBe(5433);
    template.hasResourceProperties('AWS::DMS::Endpoint', { DatabaseName: 'neondb', SslMode: 'require', EngineName: 'postgres' });
    const secretString = Object.values(template.findResources('AWS::SecretsManager::Secret'))[0].Properties.SecretString;
    expect(JSON.parse(secretString)).toMatchObject({ host: HOST, port: 5433, username: 'daniel', dbname: 'neondb' });
  });

  test('accepts tokens without validating them and derives the endpoint ID in CloudFormation', () => {
    const stack = newStack();
    const host = new CfnParameter(stack, 'NeonHost').valueAsString;
    const db = new CfnParameter(stack, 'NeonDb').valueAsString;
    const user = new CfnParameter(stack, 'NeonUser').valueAsString;
    const port = new CfnParameter(stack, 'NeonPort', { type: 'Number' }).valueAsNumber;
    const identifier = new CfnParameter(stack, 'NeonId').valueAsString;

    const { neon, template } = endpoint(
      { host, databaseName: db, username: user, port, endpointIdentifier: identifier, password: password() }, stack);

    expect(Token.isUnresolved(neon.neonEndpointId)).toBe(true);
    expect(stack.resolve(neon.neonEndpointId)).toEqual({ 'Fn::Select': [0, { 'Fn::Split': ['.', { Ref: 'NeonHost' }] }] });
    template.hasResourceProperties('AWS::DMS::Endpoint', { DatabaseName: { Ref: 'NeonDb' }, EndpointIdentifier: { Ref: 'NeonId' } });
  });
});

describe('connectionStringSecret', () => {
  function secretForm(props: Partial<NeonTargetEndpointProps> = {}) {
    const stack = newStack();
    const source = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Source',
      'arn:aws:secretsmanager:us-east-2:123456789012:secret:neon/url-AbCdEf');
    return { source, ...endpoint({ connectionStringSecret: source, connectionStringSecretField: 'DATABASE_URL', ...props }, stack) };
  }

  test('parses the secret at deploy time into a secret of its own, and the endpoint uses the parsed values', () => {
    const { neon, template, stack } = secretForm();
    const targetId = stack.getLogicalId(neon.credentialsSecret.node.defaultChild as secretsmanager.CfnSecret);

    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({}),
      SecretString: Match.absent(),
    });
    const clientId = Object.keys(template.findResources('AWS::SecretsManager::Secret')).find(id => id.startsWith('NeonClientCredentials'))!;
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    template.hasResourceProperties('Custom::NeonDmsCredentials', {
      SourceSecretArn: 'arn:aws:secretsmanager:us-east-2:123456789012:secret:neon/url-AbCdEf',
      SourceSecretField: 'DATABASE_URL',
      TargetSecretArn: { Ref: targetId },
      ClientSecretArn: { Ref: clientId },
      AllowNonNeonHost: 'false',
    });
    const [crId] = Object.keys(template.findResources('Custom::NeonDmsCredentials'));
    // the clients read the secret by the ARN the resource answers with: after it wrote the value
    expect(stack.resolve(neon.clientCredentialsSecret.secretArn)).toEqual({ 'Fn::GetAtt': [crId, 'ClientSecretArn'] });
    template.hasResourceProperties('AWS::DMS::Endpoint', {
      DatabaseName: { 'Fn::GetAtt': [crId, 'DatabaseName'] },
      SslMode: 'require',
      PostgreSqlSettings: { SecretsManagerSecretId: { Ref: targetId } },
    });
    expect(stack.resolve(neon.host)).toEqual({ 'Fn::GetAtt': [crId, 'Host'] });
    expect(stack.resolve(neon.neonEndpointId)).toEqual({ 'Fn::GetAtt': [crId, 'EndpointId'] });
    expect(stack.resolve(neon.port)).toEqual({ 'Fn::GetAtt': [crId, 'Port'] });
  });

  test('the handler role reads the source secret and writes only the two derived ones', () => {
    const { neon, template, stack } = secretForm();
    const targetId = stack.getLogicalId(neon.credentialsSecret.node.defaultChild as secretsmanager.CfnSecret);
    const clientId = Object.keys(template.findResources('AWS::SecretsManager::Secret')).find(id => id.startsWith('NeonClientCredentials'))!;
    const handlerPolicy = Object.values(template.findResources('AWS::IAM::Policy'))
      .find(p => JSON.stringify(p.Properties.Roles).includes('HandlerRole'))!;
    const statements = handlerPolicy.Properties.PolicyDocument.Statement;

    expect(statements).toEqual(expect.arrayContaining([
      { Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Effect: 'Allow', Resource: 'arn:aws:secretsmanager:us-east-2:123456789012:secret:neon/url-AbCdEf' },
      { Action: 'secretsmanager:PutSecretValue', Effect: 'Allow', Resource: [{ Ref: targetId }, { Ref: clientId }] },
    ]));
    const puts = statements.filter((s: any) => JSON.stringify(s.Action).includes('PutSecretValue'));
    expect(puts).toHaveLength(1);
    const reads = statements.filter((s: any) => JSON.stringify(s.Action).includes('GetSecretValue'));
    expect(reads).toHaveLength(1);
  });

  test('a CMK on the source secret lets the handler decrypt it', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'SourceKey', { enableKeyRotation: true });
    const source = new secretsmanager.Secret(stack, 'Source', { encryptionKey: key });
    const { template } = endpoint({ connectionStringSecret: source }, stack);
    const handlerRole = Object.keys(template.findResources('AWS::IAM::Role')).find(id => id.includes('HandlerRole'))!;
    expect(decryptGrants(template, handlerRole)).toEqual([
      { 'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
    ]);
  });

  test('a CMK on the derived secret lets the handler write with it: a data key, and decrypting the current value, through Secrets Manager only', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const source = secretsmanager.Secret.fromSecretNameV2(stack, 'Source', 'neon/url');
    const { template } = endpoint({ connectionStringSecret: source, credentialsEncryptionKey: key }, stack);
    const handlerPolicy = Object.values(template.findResources('AWS::IAM::Policy'))
      .find(p => JSON.stringify(p.Properties.Roles).includes('HandlerRole'))!;
    expect(handlerPolicy.Properties.PolicyDocument.Statement).toEqual(expect.arrayContaining([
      {
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } },
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as kms.CfnKey), 'Arn'] },
      },
    ]));
  });

  test('connectionStringSecretRefresh changes the custom resource so the secret is read again', () => {
    const { template } = secretForm({ connectionStringSecretRefresh: '2026-05-01' });
    template.hasResourceProperties('Custom::NeonDmsCredentials', { Refresh: '2026-05-01' });
    secretForm().template.hasResourceProperties('Custom::NeonDmsCredentials', { Refresh: Match.absent() });
  });

  test('passes allowNonNeonHost and neonEndpointId to the handler', () => {
    const { template } = secretForm({ allowNonNeonHost: true, neonEndpointId: 'ep-curly-term-54009904', connectionStringSecretField: undefined });
    template.hasResourceProperties('Custom::NeonDmsCredentials', {
      AllowNonNeonHost: 'true',
      NeonEndpointId: 'ep-curly-term-54009904',
      SourceSecretField: Match.absent(),
    });
  });
});

describe('sslMode', () => {
  test('verify-full creates a DMS certificate with ISRG Root X1', () => {
    const { template, stack } = endpoint({ connectionString: URI, password: password(), sslMode: NeonSslMode.VERIFY_FULL });
    template.hasResourceProperties('AWS::DMS::Certificate', { CertificatePem: ISRG_ROOT_X1_PEM });
    const [certId] = Object.keys(template.findResources('AWS::DMS::Certificate'));
    template.hasResourceProperties('AWS::DMS::Endpoint', { SslMode: 'verify-full', CertificateArn: { Ref: certId } });
    expect(stack).toBeDefined();
  });

  test('the embedded ISRG Root X1 is the genuine certificate', () => {
    const cert = new crypto.X509Certificate(ISRG_ROOT_X1_PEM);
    expect(cert.fingerprint256).toBe('96:BC:EC:06:26:49:76:F3:74:60:77:9A:CF:28:C5:A7:CF:E8:A3:C0:AA:E1:1A:8F:FC:EE:05:C0:BD:DF:08:C6');
    expect(cert.subject).toContain('CN=ISRG Root X1');
    expect(cert.verify(cert.publicKey)).toBe(true);
  });

  test('verify-full with a given CA PEM or certificate ARN', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    endpoint({ connectionString: URI, password: password(), sslMode: NeonSslMode.VERIFY_FULL, caCertificatePem: pem })
      .template.hasResourceProperties('AWS::DMS::Certificate', { CertificatePem: pem });
    const arn = 'arn:aws:dms:us-east-2:123456789012:cert:NEONCA';
    const { template } = endpoint({ connectionString: URI, password: password(), sslMode: NeonSslMode.VERIFY_FULL, certificateArn: arn });
    template.resourceCountIs('AWS::DMS::Certificate', 0);
    template.hasResourceProperties('AWS::DMS::Endpoint', { SslMode: 'verify-full', CertificateArn: arn });
  });
});

describe('connection test', () => {
  test('is created by default when a replication instance is given, and waits for its egressReady', () => {
    const stack = newStack();
    const route = new secretsmanager.Secret(stack, 'StandInForRoute');
    const replicationInstance = ReplicationInstance.fromReplicationInstanceAttributes(stack, 'Instance', {
      replicationInstanceArn: INSTANCE_ARN, replicationInstanceIdentifier: 'instance-1', egressReady: route,
    });
    const { neon, template } = endpoint({ connectionString: URI, password: password(), replicationInstance }, stack);
    expect(neon.connectionTest).toBeDefined();
    template.hasResourceProperties('Custom::DmsConnectionTest', {
      EndpointArns: [{ Ref: stack.getLogicalId(neon.endpoint) }],
      ReplicationInstanceArn: INSTANCE_ARN,
      Sources: Match.absent(),
    });
    const test = Object.values(template.findResources('Custom::DmsConnectionTest'))[0];
    expect(test.DependsOn).toEqual(expect.arrayContaining([stack.getLogicalId(route.node.defaultChild as secretsmanager.CfnSecret)]));
  });

  test('can be turned off', () => {
    const stack = newStack();
    const props = { connectionString: URI, password: password(), replicationInstance: instance(stack), testConnection: false };
    const { neon, template } = endpoint(props, stack);
    expect(neon.connectionTest).toBeUndefined();
    template.resourceCountIs('Custom::DmsConnectionTest', 0);
  });
});

describe('an endpoint made elsewhere', () => {
  test('fromEndpointArn: a target, engine postgres, port 5432, identified by the ARN\'s resource id', () => {
    const stack = newStack();
    const neon = NeonTargetEndpoint.fromEndpointArn(stack, 'Neon', 'arn:aws:dms:us-east-2:123456789012:endpoint:ABCDEFGHIJ');
    expect(neon.endpointType).toBe(EndpointType.TARGET);
    expect(neon.engineName).toBe('postgres');
    expect(neon.port).toBe(5432);
    expect(neon.endpointIdentifier).toBe('ABCDEFGHIJ');
    expect(neon.env).toEqual({ account: '123456789012', region: 'us-east-2' });
    expect(neon.databaseConnections).toBeUndefined();
  });

  test('fromEndpointAttributes: the identifier and port given, checked like DMS does', () => {
    const stack = newStack();
    const neon = NeonTargetEndpoint.fromEndpointAttributes(stack, 'Neon', {
      endpointArn: 'arn:aws:dms:us-east-2:123456789012:endpoint:ABCDEFGHIJ', endpointIdentifier: 'Neon-Target', port: 5433,
    });
    expect([neon.endpointIdentifier, neon.port]).toEqual(['neon-target', 5433]);
    expect(() => NeonTargetEndpoint.fromEndpointAttributes(stack, 'Bad', { endpointArn: 'arn:aws:dms:us-east-2:123456789012:endpoint:X', endpointIdentifier: 'neon--x' }))
      .toThrow(new Error('NeonTargetEndpoint.fromEndpointAttributes: endpointIdentifier \'neon--x\' must not contain two consecutive hyphens.'));
    expect(() => NeonTargetEndpoint.fromEndpointAttributes(stack, 'BadPort', { endpointArn: 'arn:aws:dms:us-east-2:123456789012:endpoint:X', port: 0 }))
      .toThrow(new Error('NeonTargetEndpoint.fromEndpointAttributes: port must be a TCP port from 1 to 65535, got 0.'));
  });

  test('a token ARN: the identifier is its resource id, taken at deploy time', () => {
    const stack = newStack();
    const neon = NeonTargetEndpoint.fromEndpointArn(stack, 'Neon', Token.asString({ 'Fn::ImportValue': 'NeonEndpointArn' }));
    expect(stack.resolve(neon.endpointIdentifier)).toEqual({ 'Fn::Select': [6, { 'Fn::Split': [':', { 'Fn::ImportValue': 'NeonEndpointArn' }] }] });
  });
});

describe('synth-time errors', () => {
  const ok = { connectionString: URI, password: password() };
  test.each<[string, NeonTargetEndpointProps, string]>([
    ['a malformed connection string', { connectionString: 'postgres//daniel@host/db', password: password() },
      'NeonTargetEndpoint: connectionString is not a PostgreSQL connection string (it must start with postgresql://). Expected postgresql://<user>@<host>/<database>?sslmode=require, as shown in the Neon console\'s Connect dialog.'],
    ['a pooled host in the connection string', { connectionString: URI.replace('54009904.', '54009904-pooler.'), password: password() },
      'NeonTargetEndpoint: connectionString: ep-curly-term-54009904-pooler.us-east-2.aws.neon.tech is Neon\'s pooled (PgBouncer) host. DMS needs the direct host, because PgBouncer in transaction mode breaks DMS\'s session-level work and logical replication. Use ep-curly-term-54009904.us-east-2.aws.neon.tech (the host without -pooler).'],
    ['a pooled host prop', { host: 'ep-a-1-pooler.us-east-2.aws.neon.tech', databaseName: 'd', username: 'u', password: password() },
      'NeonTargetEndpoint: host: ep-a-1-pooler.us-east-2.aws.neon.tech is Neon\'s pooled (PgBouncer) host. DMS needs the direct host, because PgBouncer in transaction mode breaks DMS\'s session-level work and logical replication. Use ep-a-1.us-east-2.aws.neon.tech (the host without -pooler).'],
    ['a password in the connection string', { connectionString: URI.replace('daniel@', `daniel:${CANARY}@`), password: password() },
      'NeonTargetEndpoint: connectionString contains a password. Remove it from the string and pass it as password: SecretValue (e.g. SecretValue.secretsManager(\'neon/password\')), or store the whole connection string in Secrets Manager and use connectionStringSecret.'],
    ['channel_binding=require', { connectionString: `${URI}&channel_binding=require`, password: password() },
      'NeonTargetEndpoint: connectionString sets channel_binding=require, which DMS cannot satisfy: Neon\'s endpoint-in-password form (endpoint=<endpoint_id>$<password>) falls back from SCRAM channel binding to password authentication inside TLS. Remove channel_binding=require from the connection string.'],
    ['a non-Neon host', { host: 'db.example.com', databaseName: 'd', username: 'u', password: password() },
      'NeonTargetEndpoint: host: db.example.com is not a Neon host (*.neon.tech). Check the host in the Neon console\'s Connect dialog, or set allowNonNeonHost: true to connect through another name (then set neonEndpointId unless the first label is the endpoint ID).'],
    ['no database at all', {},
      'NeonTargetEndpoint needs the Neon database: set connectionString (without the password) and password, or host, databaseName, username and password, or connectionStringSecret.'],
    ['connectionString with host', { ...ok, host: HOST, port: 5432 },
      'NeonTargetEndpoint: connectionString and host, port are alternatives: pass the connection string alone, or its parts without it.'],
    ['connectionString without password', { connectionString: URI },
      'NeonTargetEndpoint: password is required with connectionString. Pass it as password: SecretValue (e.g. SecretValue.secretsManager(\'neon/password\')), or store the whole connection string in Secrets Manager and use connectionStringSecret.'],
    ['host without password', { host: HOST, databaseName: 'd', username: 'u' },
      'NeonTargetEndpoint: password is required with host. Pass it as password: SecretValue (e.g. SecretValue.secretsManager(\'neon/password\')), or store the whole connection string in Secrets Manager and use connectionStringSecret.'],
    ['host without databaseName and username', { host: HOST, password: password() },
      'NeonTargetEndpoint: databaseName and username are required with host. Take them from your Neon connection string (postgresql://<username>@<host>/<databaseName>).'],
    ['host without username', { host: HOST, databaseName: 'd', password: password() },
      'NeonTargetEndpoint: username is required with host. Take them from your Neon connection string (postgresql://<username>@<host>/<databaseName>).'],
    ['an invalid port', { host: HOST, databaseName: 'd', username: 'u', port: 70000, password: password() },
      'NeonTargetEndpoint: port 70000 is not a TCP port: use an integer between 1 and 65535 (Neon listens on 5432).'],
    ['connectionStringSecretField without secret', { ...ok, connectionStringSecretField: 'DATABASE_URL' },
      'NeonTargetEndpoint: connectionStringSecretField is only used with connectionStringSecret: set connectionStringSecret, or remove it.'],
    ['connectionStringSecretRefresh without secret', { ...ok, connectionStringSecretRefresh: '1' },
      'NeonTargetEndpoint: connectionStringSecretRefresh is only used with connectionStringSecret: set connectionStringSecret, or remove it.'],
    ['a token connection string', { connectionString: Token.asString({ Ref: 'Uri' }), password: password() },
      'NeonTargetEndpoint: connectionString cannot be a token: it is parsed at synth time. Pass host, databaseName and username (tokens are fine there), or store the connection string in a secret and use connectionStringSecret.'],
    ['certificate props without verify-full', { ...ok, certificateArn: 'arn:aws:dms:us-east-2:123456789012:cert:X' },
      'NeonTargetEndpoint: caCertificatePem and certificateArn are only used with sslMode: NeonSslMode.VERIFY_FULL. Set sslMode, or remove them.'],
    ['both certificate props', { ...ok, sslMode: NeonSslMode.VERIFY_FULL, certificateArn: 'arn:aws:dms:us-east-2:123456789012:cert:X', caCertificatePem: ISRG_ROOT_X1_PEM },
      'NeonTargetEndpoint: caCertificatePem and certificateArn are alternatives: set one of them.'],
    ['a non-PEM CA', { ...ok, sslMode: NeonSslMode.VERIFY_FULL, caCertificatePem: 'MIIB' },
      'NeonTargetEndpoint: caCertificatePem is not a PEM certificate (-----BEGIN CERTIFICATE----- ...).'],
    ['an invalid neonEndpointId', { ...ok, neonEndpointId: 'curly-term' },
      'NeonTargetEndpoint: neonEndpointId \'curly-term\' is not a Neon endpoint ID. Use the ID shown in the Neon console, e.g. ep-curly-term-54009904.'],
    ['an empty password', { connectionString: URI, password: SecretValue.unsafePlainText('') },
      'NeonTargetEndpoint: password is empty: Neon roles always have a password. Pass the one from the Neon console (e.g. SecretValue.secretsManager(\'neon/password\')).'],
    ['testConnection without instance', { ...ok, testConnection: true },
      'NeonTargetEndpoint: testConnection needs replicationInstance, the replication instance to test the connection from.'],
  ])('%s', (_name, props, message) => {
    expect(() => new NeonTargetEndpoint(newStack(), 'Neon', props)).toThrow(new Error(message));
  });

  test('connectionStringSecret with other inputs', () => {
    const stack = newStack();
    const source = secretsmanager.Secret.fromSecretNameV2(stack, 'Source', 'neon/url');
    expect(() => new NeonTargetEndpoint(stack, 'Neon', { connectionStringSecret: source, connectionString: URI, password: password() }))
      .toThrow(new Error('NeonTargetEndpoint: connectionStringSecret holds the whole connection string, password included: remove connectionString, password.'));
    expect(() => new NeonTargetEndpoint(stack, 'Neon2', { connectionStringSecret: source, connectionStringSecretField: ' ' }))
      .toThrow(new Error('NeonTargetEndpoint: connectionStringSecretField is empty: name the JSON field holding the connection string (e.g. DATABASE_URL), or omit it for a plain-string secret.'));
  });

  test.each([
    ['1neon', 'begin with a letter'],
    ['neon_target', 'contain only ASCII letters, digits and hyphens'],
    ['neon--target', 'not contain two consecutive hyphens'],
    ['neon-', 'not end with a hyphen'],
    ['n'.repeat(256), 'be 1 to 255 characters long (it has 256)'],
    ['', 'be 1 to 255 characters long (it has 0), begin with a letter'],
  ])('endpoint identifier %p', (identifier, rule) => {
    expect(() => new NeonTargetEndpoint(newStack(), 'Neon', { ...ok, endpointIdentifier: identifier }))
      .toThrow(new Error(`NeonTargetEndpoint: endpointIdentifier '${identifier}' must ${rule}.`));
  });

  test.each(['neon', 'Neon-Target-1', 'n'.repeat(255)])('endpoint identifier %p is accepted, in lower case as DMS stores it', (identifier) => {
    expect(new NeonTargetEndpoint(newStack(), 'Neon', { ...ok, endpointIdentifier: identifier }).endpointIdentifier).toBe(identifier.toLowerCase());
  });

  test('a non-Neon host is accepted with allowNonNeonHost and neonEndpointId', () => {
    const { neon } = endpoint({ host: 'neon-proxy.example.com', databaseName: 'd', username: 'u', password: password(), allowNonNeonHost: true, neonEndpointId: 'ep-a-1' });
    expect(neon.neonEndpointId).toBe('ep-a-1');
    expect(neon.host).toBe('neon-proxy.example.com');
  });
});

describe('secrets stay out of the cloud assembly', () => {
  test('connection string + Secrets Manager password', () => {
    const app = testApp();
    const stack = newStack(app);
    new NeonTargetEndpoint(stack, 'Neon', { connectionString: URI, password: SecretValue.secretsManager('neon/password'), replicationInstance: instance(stack) });
    expectSecretAbsent(app, CANARY);
    expectSecretAbsent(app, `endpoint=ep-curly-term-54009904$${CANARY}`);
  });

  test('host parts + NoEcho parameter password', () => {
    const app = testApp();
    const stack = newStack(app);
    const param = new CfnParameter(stack, 'NeonPassword', { noEcho: true });
    new NeonTargetEndpoint(stack, 'Neon', { host: HOST, databaseName: 'neondb', username: 'daniel', password: SecretValue.cfnParameter(param) });
    expectSecretAbsent(app, CANARY);
  });

  test('connection-string secret', () => {
    const app = testApp();
    const stack = newStack(app);
    new NeonTargetEndpoint(stack, 'Neon', {
      connectionStringSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Source', 'neon/url'),
      replicationInstance: instance(stack),
    });
    expectSecretAbsent(app, CANARY);
  });

  test('the check finds a plain-text password (which unsafePlainText writes into the template by definition)', () => {
    const app = testApp();
    new NeonTargetEndpoint(newStack(app), 'Neon', { connectionString: URI, password: SecretValue.unsafePlainText(CANARY) });
    expect(findSecretInAssembly(app, CANARY)).toContain('S.template.json');
  });
});

describe('schema and cdk-nag', () => {
  test('connection string form with a connection test', () => {
    const build = (app: App, env?: Environment) => {
      const stack = new Stack(app, 'S', { env });
      new NeonTargetEndpoint(stack, 'Neon', { connectionString: URI, password: password(), replicationInstance: instance(stack), sslMode: NeonSslMode.VERIFY_FULL });
      return stack;
    };
    expectValidCloudFormation(build(new App()));
    expectNagClean(build, PROVIDER_FRAMEWORK_ACKS);
  });

  test('secret form with a customer managed key', () => {
    const build = (app: App, env?: Environment) => {
      const stack = new Stack(app, 'S', { env });
      const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      new NeonTargetEndpoint(stack, 'Neon', {
        connectionStringSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Source', 'arn:aws:secretsmanager:us-east-2:123456789012:secret:neon/url-AbCdEf'),
        credentialsEncryptionKey: key,
        replicationInstance: instance(stack),
      });
      return stack;
    };
    expectValidCloudFormation(build(new App()));
    expectNagClean(build, PROVIDER_FRAMEWORK_ACKS);
  });
});
