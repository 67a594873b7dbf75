import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { App, Environment, SecretValue, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as rds from 'aws-cdk-lib/aws-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { mysqlReport } from './report-fixture';
import { DmsSchemaConversion } from '../../lib/conversion';
import { SCHEMA_CONVERSION_TYPE } from '../../lib/conversion/kinds';
import { NeonTargetEndpoint } from '../../lib/neon';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { MySqlSourceEndpoint } from '../../lib/sources';
import { TableMappings, TransformationTarget } from '../../lib/task';
import { cfnStrings, CustomResourceContext, handlersFor, invokeCustomResource, SimulatedClock, topologicalOrder } from '../helpers/deploy-driver';
import { CustomResourceAttributes, DeployedTemplate, DeployEnvironment, TemplateJson } from '../helpers/deployed';
import { FakeAws } from '../helpers/fake-aws';
import { AuthorizedRequest, IamModel } from '../helpers/iam-simulation';
import { resolveSecretId } from '../helpers/secrets-manager-model';

/*
 * The schema conversion's AWS requests, allowed by the policies the template gives the caller —
 * evaluated with AWS's service authorization data (test/helpers/iam-simulation.ts):
 * - the handler's: both custom resources run through the real handler (onEvent, isComplete polled
 *   until done) against the fake account (test/helpers/fake-aws.ts), with the properties
 *   CloudFormation would send; every DMS call is checked against the role of the function that made
 *   it, as is the read of the assessment report from the project's bucket;
 * - DMS's, with the project's roles: assuming them (trust policy, confused-deputy conditions), reading
 *   the two secrets the project names, writing and reading the project's bucket.
 */

// the project's bucket serves an empty report
const s3Mock = mockClient(S3Client);
const s3Reads = () => s3Mock.commandCalls(GetObjectCommand).map(c => ({ Bucket: c.args[0].input.Bucket, Key: c.args[0].input.Key }));
/** The bucket's answer: an empty report, as an S3 body (only the method the handler calls). */
function serveEmptyReport(): void {
  s3Mock.reset();
  s3Mock.on(GetObjectCommand).callsFake(async () => ({ Body: { transformToByteArray: async () => new Uint8Array(mysqlReport([])) } as any }));
}

const NEON_URI = 'postgresql://app@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require';

function build(app: App, env?: Environment): Stack {
  const stack = new Stack(app, 'Conversion', { env });
  const network = new NatEgressForReplication(stack, 'Network');
  const database = new rds.DatabaseInstance(stack, 'Database', {
    engine: rds.DatabaseInstanceEngine.mysql({ version: rds.MysqlEngineVersion.VER_8_0 }),
    vpc: network.vpc,
    vpcSubnets: network.replicationSubnets,
    credentials: rds.Credentials.fromGeneratedSecret('admin', { excludeCharacters: ' %+~`#$&*()|[]{}:;<>?!\'/@"\\,' }),
  });
  const source = new MySqlSourceEndpoint(stack, 'Source', { secret: database.secret!, databaseConnections: database });
  const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
  new DmsSchemaConversion(stack, 'SchemaConversion', {
    network,
    source,
    target,
    tableMappings: TableMappings.includeSchema('shop').convertLowercase(TransformationTarget.TABLE).convertLowercase(TransformationTarget.COLUMN),
  });
  return stack;
}

/** The template as deployed, with the DMS Schema Conversion resources' and the bucket's ids and ARNs. */
class ConversionTemplate extends DeployedTemplate {
  public ref(logicalId: string): string {
    const type = this.resource(logicalId).Type;
    if (type === 'AWS::S3::Bucket') return `${this.env.stackName}-${logicalId}`.toLowerCase().slice(0, 63);
    if (type === 'AWS::DMS::DataProvider') return this.getAtt(logicalId, 'DataProviderArn');
    if (type === 'AWS::DMS::InstanceProfile') return this.getAtt(logicalId, 'InstanceProfileArn');
    if (type === 'AWS::DMS::MigrationProject') return this.getAtt(logicalId, 'MigrationProjectArn');
    return super.ref(logicalId);
  }

  public getAtt(logicalId: string, attribute: string): any {
    const type = this.resource(logicalId).Type;
    const dms = (kind: string) => `arn:${this.env.partition}:dms:${this.env.region}:${this.env.account}:${kind}:${logicalId.toUpperCase().replace(/[^A-Z0-9]/g, '').slice(0, 26)}`;
    switch (`${type}.${attribute}`) {
      case 'AWS::DMS::DataProvider.DataProviderArn': return dms('data-provider');
      case 'AWS::DMS::InstanceProfile.InstanceProfileArn': return dms('instance-profile');
      case 'AWS::DMS::MigrationProject.MigrationProjectArn': return dms('migration-project');
      case 'AWS::S3::Bucket.Arn': return `arn:${this.env.partition}:s3:::${this.ref(logicalId)}`;
      default: return super.getAtt(logicalId, attribute);
    }
  }
}

interface Deployment {
  readonly ctx: CustomResourceContext;
  readonly iam: IamModel;
  readonly deployed: ConversionTemplate;
  /** The requests each role made, AWS's decisions pending. */
  readonly requests: { role: string; request: AuthorizedRequest }[];
}

/** Creates the stack's schema conversion steps through the real handler, in CloudFormation's order. */
async function deploy(env?: Environment): Promise<Deployment> {
  const stack = build(new App(), env);
  const template = Template.fromStack(stack).toJSON() as TemplateJson;
  const attributes: CustomResourceAttributes = {};
  const environment: Partial<DeployEnvironment> = { stackName: stack.stackName, ...(env ? { account: env.account, region: env.region } : {}) };
  const deployed = new ConversionTemplate(template, environment, attributes);
  const iam = IamModel.of(deployed);
  const fake = new FakeAws(deployed);
  const ctx: CustomResourceContext = { deployed, iam, fake, clock: new SimulatedClock() };
  serveEmptyReport();
  const requests: { role: string; request: AuthorizedRequest }[] = [];
  const steps = topologicalOrder(template).filter(x => deployed.resource(x).Type === SCHEMA_CONVERSION_TYPE);
  const sent = new Map<string, Record<string, any>>();
  const run = async (id: string, requestType: 'Create' | 'Update', change: Record<string, string> = {}) => {
    const reads = s3Reads().length;
    const properties = { ...cfnStrings(deployed.properties(id)) as Record<string, any>, ...change };
    const result = await ctx.clock.run(() => invokeCustomResource(ctx, handlersFor(SCHEMA_CONVERSION_TYPE), {
      RequestType: requestType,
      ResourceType: SCHEMA_CONVERSION_TYPE,
      LogicalResourceId: id,
      StackId: deployed.stackId,
      RequestId: `request-${id}-${requestType}`,
      ResourceProperties: properties,
      ...(requestType === 'Update' ? { OldResourceProperties: sent.get(id), PhysicalResourceId: attributes[id].PhysicalResourceId } : {}),
    }, `${id}-physical-id`));
    sent.set(id, properties);
    attributes[id] = { PhysicalResourceId: result.PhysicalResourceId };
    // the report is read by the isComplete function
    const [, isCompleteRole] = rolesOf(deployed, iam, id);
    for (const read of s3Reads().slice(reads)) {
      requests.push({ role: isCompleteRole, request: { action: 's3:GetObject', resource: `arn:${deployed.env.partition}:s3:::${read.Bucket}/${read.Key}`, origin: `GetObject (${id})` } });
      // S3 answers NoSuchKey for a report not written yet (the handler looks again) only when the reader may list the bucket
      // (GetObject, Permissions); it evaluates s3:ListBucket with the key as s3:prefix
      requests.push({
        role: isCompleteRole,
        request: { action: 's3:ListBucket', resource: `arn:${deployed.env.partition}:s3:::${read.Bucket}`, context: { 's3:prefix': read.Key! }, origin: `GetObject of a missing key (${id})` },
      });
    }
  };
  try {
    fake.stackStatus = 'CREATE_IN_PROGRESS';
    for (const id of steps) await run(id, 'Create');
    // a deployment with a changed refresh runs both steps again (the conversion after a refresh of the source's metadata)
    fake.stackStatus = 'UPDATE_IN_PROGRESS';
    for (const id of steps) await run(id, 'Update', deployed.resource(id).Properties!.Step === 'convert' ? { Refresh: '2' } : {});
  } finally {
    fake.restore();
  }
  requests.push(...fake.calls.flatMap(call => call.requests.map(request => ({ role: call.role, request }))));
  return { ctx, iam, deployed, requests };
}

function rolesOf(deployed: DeployedTemplate, iam: IamModel, customResource: string): [string, string] {
  const framework = iam.functionWithArn(deployed.properties(customResource).ServiceToken);
  const variables = deployed.properties(framework).Environment.Variables;
  const roleOf = (arn: string) => iam.roleOfFunction(iam.functionWithArn(arn));
  return [roleOf(variables.USER_ON_EVENT_FUNCTION_ARN), roleOf(variables.USER_IS_COMPLETE_FUNCTION_ARN)];
}

async function denied(iam: IamModel, requests: { role: string; request: AuthorizedRequest }[]): Promise<string[]> {
  const result: string[] = [];
  for (const { role, request } of requests) {
    const decision = await iam.decide(role, request);
    if (!decision.allowed) result.push(`${role}: ${request.action} on ${request.resource} (${decision.result}) by ${request.origin}`);
  }
  return result;
}

describe.each([['environment-agnostic', undefined], ['in a concrete account and Region', { account: '210987654321', region: 'eu-west-1' }]])('%s', (_name, env) => {
  let deployment: Deployment;

  beforeAll(async () => {
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    deployment = await deploy(env);
    jest.restoreAllMocks();
  }, 60_000);

  test('both steps ran to the end, created and run again: assessed, converted, report read, applied to Neon', () => {
    const fake = deployment.ctx.fake;
    expect([...fake.schemaConversionRequests.values()].map(r => r.operation))
      .toEqual(['assessment', 'conversion', 'export', 'import', 'assessment', 'conversion', 'export']);
    expect(fake.calls.map(c => c.command)).toEqual(expect.arrayContaining(['ExportMetadataModelAssessment', 'GetTargetSelectionRules']));
  });

  test('every request the handler makes is allowed by its role', async () => {
    const actions = new Set(deployment.requests.map(r => r.request.action));
    expect([...actions].sort()).toEqual([
      'cloudformation:DescribeStacks', 'dms:DescribeMetadataModelImports', 'dms:ExportMetadataModelAssessment', 'dms:GetTargetSelectionRules', 'dms:ListDataProviders', 'dms:ListMetadataModelAssessments',
      'dms:ListMetadataModelConversions', 'dms:ListMetadataModelExports', 'dms:StartMetadataModelAssessment', 'dms:StartMetadataModelConversion',
      'dms:StartMetadataModelExportToTarget', 'dms:StartMetadataModelImport', 's3:GetObject', 's3:ListBucket',
    ]);
    expect(await denied(deployment.iam, deployment.requests)).toEqual([]);
  });

  test('another migration project, or another bucket, is out of the handler\'s reach', async () => {
    const start = deployment.requests.find(r => r.request.action === 'dms:StartMetadataModelConversion')!;
    const other = { ...start.request, resource: start.request.resource.replace(/migration-project:.*/, 'migration-project:OTHERPROJECT') };
    expect((await deployment.iam.decide(start.role, other)).allowed).toBe(false);
    const read = deployment.requests.find(r => r.request.action === 's3:GetObject')!;
    expect((await deployment.iam.decide(read.role, { ...read.request, resource: 'arn:aws:s3:::someone-elses-bucket/report.zip' })).allowed).toBe(false);
    // in the project's bucket: the reports it names, not DMS's other files
    expect((await deployment.iam.decide(read.role, { ...read.request, resource: read.request.resource.replace(/[^/]*$/, 'conversion-files.zip') })).allowed).toBe(false);
    const list = deployment.requests.find(r => r.request.action === 's3:ListBucket')!;
    expect((await deployment.iam.decide(list.role, { ...list.request, context: { 's3:prefix': 'migration-project/' } })).allowed).toBe(false);
    expect((await deployment.iam.decide(list.role, { ...list.request, context: {} })).allowed).toBe(false);
  });

  test('DMS may assume the project\'s roles for this account only, read the two secrets the project names and use its bucket', async () => {
    const { deployed, iam } = deployment;
    const project = deployed.logicalIds('AWS::DMS::MigrationProject')[0];
    const p = deployed.properties(project);
    const secretsRole = iam.roleWithArn(p.SourceDataProviderDescriptors[0].SecretsManagerAccessRoleArn);
    const bucketRole = iam.roleWithArn(p.SchemaConversionApplicationAttributes.S3BucketRoleArn);
    const { account, region, partition } = deployed.env;
    for (const role of [secretsRole, bucketRole]) {
      for (const principal of ['dms.amazonaws.com', `dms.${region}.amazonaws.com`, 'schema-conversion.dms.amazonaws.com']) {
        const own = await iam.decideAssumeRole(role, principal, { 'aws:SourceAccount': account, 'aws:SourceArn': deployed.getAtt(project, 'MigrationProjectArn') });
        expect([role, principal, own.result]).toEqual([role, principal, 'Allowed']);
        const confusedDeputy = await iam.decideAssumeRole(role, principal, {
          'aws:SourceAccount': '111122223333', 'aws:SourceArn': `arn:${partition}:dms:${region}:111122223333:migration-project:OTHER`,
        });
        expect([role, principal, confusedDeputy.allowed]).toEqual([role, principal, false]);
      }
    }
    const secrets = [...p.SourceDataProviderDescriptors, ...p.TargetDataProviderDescriptors].map((descriptor: any) => {
      const found = resolveSecretId(descriptor.SecretsManagerSecretId, deployment.ctx.fake.secrets, deployed.env);
      expect(found.secret).toBeDefined();
      return found.secret!.arn;
    });
    expect(secrets).toHaveLength(2);
    const bucket = p.SchemaConversionApplicationAttributes.S3BucketPath.replace('s3://', '');
    const dmsRequests: { role: string; request: AuthorizedRequest }[] = [
      ...secrets.map(arn => ({ role: secretsRole, request: { action: 'secretsmanager:GetSecretValue', resource: arn, origin: 'DMS reads a data provider\'s credentials' } })),
      ...['s3:PutObject', 's3:GetObject', 's3:GetObjectVersion'].map(action => ({ role: bucketRole, request: { action, resource: `arn:${partition}:s3:::${bucket}/migration-project/report.zip`, origin: 'DMS writes the project' } })),
      ...['s3:ListBucket', 's3:GetBucketLocation', 's3:GetBucketVersioning'].map(action => ({ role: bucketRole, request: { action, resource: `arn:${partition}:s3:::${bucket}`, origin: 'DMS checks the bucket' } })),
    ];
    expect(await denied(iam, dmsRequests)).toEqual([]);
    // the secrets role reads these two secrets and nothing else: not the DMS endpoint's (endpoint=<id>$<password>, for clients without SNI)
    const otherSecret = `arn:${partition}:secretsmanager:${region}:${account}:secret:someone-else-AbCdEf`;
    expect((await iam.decide(secretsRole, { action: 'secretsmanager:GetSecretValue', resource: otherSecret })).allowed).toBe(false);
    const endpoint = deployed.logicalIds('AWS::DMS::Endpoint').map(id => deployed.properties(id)).find(e => e.EndpointType === 'target')!;
    const dmsSecret = resolveSecretId(endpoint.PostgreSqlSettings.SecretsManagerSecretId, deployment.ctx.fake.secrets, deployed.env).secret!.arn;
    expect(secrets).not.toContain(dmsSecret);
    expect((await iam.decide(secretsRole, { action: 'secretsmanager:GetSecretValue', resource: dmsSecret })).allowed).toBe(false);
  });
});
