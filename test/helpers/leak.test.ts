import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, SecretValue, Stack, aws_dms as dms, aws_lambda as lambda, aws_s3_assets as assets, aws_ssm as ssm } from 'aws-cdk-lib';
import { expectSecretAbsent, findSecretInAssembly, testApp } from './leak';

const SECRET = 'n3on-Pa55word-7f3a9c';

function sourceEndpoint(stack: Stack, password: SecretValue): dms.CfnEndpoint {
  return new dms.CfnEndpoint(stack, 'Source', {
    endpointType: 'source',
    engineName: 'postgres',
    serverName: 'db.example.com',
    port: 5432,
    databaseName: 'app',
    username: 'migrator',
    password: password.unsafeUnwrap(),
    sslMode: 'require',
  });
}

describe('expectSecretAbsent', () => {
  test('testApp synthesizes into a fresh empty directory', () => {
    const app = testApp();
    expect(fs.readdirSync(app.outdir)).toEqual([]);
    expect(app.outdir).not.toEqual(testApp().outdir);
  });

  test('passes a stack that reads the password from Secrets Manager', () => {
    const app = testApp();
    const stack = new Stack(app, 'S');
    sourceEndpoint(stack, SecretValue.secretsManager('source-db', { jsonField: 'password' }));
    expect(() => expectSecretAbsent(app, SECRET)).not.toThrow();
  });

  test('fails on the same stack given the password in plain text', () => {
    const app = testApp();
    const stack = new Stack(app, 'S');
    sourceEndpoint(stack, SecretValue.unsafePlainText(SECRET));
    expect(() => expectSecretAbsent(app, SECRET)).toThrow(/secret found in 2 cloud assembly file\(s\):\nS\.template\.json\ntree\.json$/);
  });

  test('finds a secret planted in an SSM parameter', () => {
    const app = testApp();
    new ssm.StringParameter(new Stack(app, 'S'), 'Param', { stringValue: `prefix-${SECRET}-suffix` });
    expect(findSecretInAssembly(app, SECRET)).toEqual(['S.template.json', 'tree.json']);
  });

  test('finds a secret in inline Lambda code, JSON-escaped', () => {
    const secret = 'quote"and\\backslash';
    const app = testApp();
    new lambda.Function(new Stack(app, 'S'), 'Fn', {
      runtime: lambda.Runtime.NODEJS_20_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline(`exports.handler = async () => ${JSON.stringify(secret)};`),
    });
    expect(findSecretInAssembly(app, secret)).toContain('S.template.json');
  });

  test('finds a secret in a file of an asset directory', () => {
    const source = fs.mkdtempSync(path.join(os.tmpdir(), 'asset-src-'));
    fs.mkdirSync(path.join(source, 'config'));
    fs.writeFileSync(path.join(source, 'config', 'settings.env'), `DB_PASSWORD=${SECRET}\n`);
    const app = testApp();
    new assets.Asset(new Stack(app, 'S'), 'Config', { path: source });

    const found = findSecretInAssembly(app, SECRET);

    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^asset\.[0-9a-f]{64}\/config\/settings\.env$/);
    expect(() => expectSecretAbsent(app, SECRET)).toThrow(/asset\.[0-9a-f]{64}\/config\/settings\.env/);
  });

  test.each([0, 1, 2])('finds a secret base64-encoded at byte offset %d', (offset) => {
    const payload = Buffer.from(`${'x'.repeat(offset)}{"password":"${SECRET}"}`).toString('base64');
    const app = testApp();
    new ssm.StringParameter(new Stack(app, 'S'), 'Param', { stringValue: payload });
    expect(findSecretInAssembly(app, SECRET)).toEqual(['S.template.json', 'tree.json']);
  });

  test('scans the default output directory of an App created without one', () => {
    const app = new App();
    new ssm.StringParameter(new Stack(app, 'S'), 'Param', { stringValue: SECRET });
    expect(() => expectSecretAbsent(app, SECRET)).toThrow(/S\.template\.json/);
  });

  test('refuses secrets shorter than 8 characters', () => {
    expect(() => findSecretInAssembly(testApp(), 'short')).toThrow(/the secret to look for must be at least 8 characters long/);
  });
});
