import {
  DescribeDataProvidersCommand,
  DescribeMetadataModelAssessmentsCommand,
  DescribeMetadataModelConversionsCommand,
  DescribeMetadataModelExportsToTargetCommand,
  DescribeMetadataModelImportsCommand,
  ExportMetadataModelAssessmentCommand,
  GetTargetSelectionRulesCommand,
  SchemaConversionRequest,
  StartMetadataModelAssessmentCommand,
  StartMetadataModelConversionCommand,
  StartMetadataModelExportToTargetCommand,
  StartMetadataModelImportCommand,
} from '@aws-sdk/client-database-migration-service';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { dmsInputProblems, expectDmsInput } from './dms-api-shapes';
import { mysqlReport, SHOP_ITEMS } from './report-fixture';
import { SCHEMA_CONVERSION_TYPE } from '../../lib/conversion/kinds';
import { isComplete, onEvent, propertiesHash } from '../../lib/conversion/schema-conversion.handler';
import { timing } from '../../lib/core/api-calls';
import type { ProviderRequest } from '../../lib/provider/handler-types';
import { dispatcher } from '../../lib/resource-handlers';
import { dmsMock, fault, NOW, request, setUp, sleeps, stackIs, tearDown, throttling } from '../lifecycle/task-handler-support';

/* The report read from the project's bucket: objects by `bucket/key`, each a body or the error S3 answers. */
const s3Objects = new Map<string, Buffer | Error>();
const s3Mock = mockClient(S3Client);
const s3Requests = () => s3Mock.commandCalls(GetObjectCommand).map(c => ({ Bucket: c.args[0].input.Bucket, Key: c.args[0].input.Key }));
function serveS3(): void {
  s3Mock.reset();
  s3Mock.on(GetObjectCommand).callsFake(async (input: { Bucket: string; Key: string }) => {
    const object = s3Objects.get(`${input.Bucket}/${input.Key}`);
    if (object === undefined) {
      const e = new Error('The specified key does not exist.');
      e.name = 'NoSuchKey';
      throw e;
    }
    if (object instanceof Error) throw object;
    return { Body: { transformToByteArray: async () => new Uint8Array(object) } as any };
  });
}

const PROJECT = 'arn:aws:dms:us-east-2:123456789012:migration-project:PROJECT1';
const SOURCE_PROVIDER = 'arn:aws:dms:us-east-2:123456789012:data-provider:SOURCE1';
const SOURCE_HOST = 'shop-db.abcdefghijkl.us-east-2.rds.amazonaws.com';
const NEON_HOST = 'ep-cool-darkness-123456.us-east-2.aws.neon.tech';
const BUCKET = 'conversion-bucket';
const REPORT_KEY = 'project-folder/cdk-neon-migration-assessment-assess-1.zip';
const RULES = [
  { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'include-1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'shop', 'table-name': '%' } },
  { 'rule-type': 'selection', 'rule-id': '2', 'rule-name': 'exclude-2', 'rule-action': 'exclude', 'object-locator': { 'schema-name': 'shop', 'table-name': 'tmp_%' } },
];
const COMMON = {
  MigrationProjectArn: PROJECT,
  SourceDataProviderArn: SOURCE_PROVIDER,
  Schemas: JSON.stringify([{ source: 'shop', target: 'shop' }]),
  Engine: 'mysql',
  TimeoutMinutes: '55',
};
const CONVERT = { Step: 'convert', ...COMMON, Rules: JSON.stringify(RULES), BucketName: BUCKET, FailOn: 'HIGH', Acknowledged: '[]' };
const APPLY = { Step: 'apply', ...COMMON, Conversion: 'dms-schema-conversion:convert-1', OverwriteExtensionPack: 'true' };
const TYPE = SCHEMA_CONVERSION_TYPE;

/** Every DMS request, checked against the DMS API model as it is sent. */
function sent<T>(command: new (...args: any[]) => { input: T }, operation: string): T[] {
  return dmsMock.commandCalls(command as any).map(call => {
    const input = (call.args[0] as { input: T }).input;
    expectDmsInput(operation, input);
    return input;
  });
}

function describing(command: any, ...requests: (SchemaConversionRequest | Error)[]): void {
  const queue = [...requests];
  dmsMock.on(command).callsFake(async () => {
    const next = queue.length > 1 ? queue.shift()! : queue[0];
    if (next instanceof Error) throw next;
    return { Requests: [next] };
  });
}

function status(id: string, value: string, extra: Partial<SchemaConversionRequest> = {}): SchemaConversionRequest {
  return { RequestIdentifier: id, MigrationProjectArn: PROJECT, Status: value, ...extra };
}

/** The isComplete request the Provider framework sends after onEvent: the same one on every poll. */
function polled(event: ProviderRequest, result: { PhysicalResourceId?: string; Data?: Record<string, any> }): ProviderRequest {
  return { ...event, PhysicalResourceId: result.PhysicalResourceId, Data: result.Data };
}

beforeEach(() => {
  setUp();
  s3Objects.clear();
  serveS3();
  dmsMock.on(DescribeDataProvidersCommand).resolves({
    DataProviders: [{ DataProviderArn: SOURCE_PROVIDER, Engine: 'mysql', Settings: { MySqlSettings: { ServerName: SOURCE_HOST, Port: 3306, SslMode: 'require' } } }],
  });
  dmsMock.on(StartMetadataModelAssessmentCommand).resolves({ RequestIdentifier: 'assess-1' });
  dmsMock.on(StartMetadataModelConversionCommand).resolves({ RequestIdentifier: 'convert-1' });
  dmsMock.on(ExportMetadataModelAssessmentCommand).resolves({ CsvReport: { S3ObjectKey: REPORT_KEY, ObjectURL: `https://${BUCKET}.s3.amazonaws.com/${REPORT_KEY}` } });
  dmsMock.on(GetTargetSelectionRulesCommand).resolves({
    TargetSelectionRules: JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'rule-action': 'explicit', 'object-locator': { 'server-name': NEON_HOST, 'schema-name': 'shop' } }] }),
  });
  dmsMock.on(StartMetadataModelExportToTargetCommand).resolves({ RequestIdentifier: 'export-1' });
});
afterEach(tearDown);

describe('convert: the assessment and the conversion of the selected objects', () => {
  test('create queues both with the task\'s rules located on the source server, and records the requests', async () => {
    const result = await onEvent(request(TYPE, 'Create', CONVERT));
    const withServer = RULES.map(r => ({ ...r, 'object-locator': { 'server-name': SOURCE_HOST, ...r['object-locator'] } }));
    expect(sent(StartMetadataModelAssessmentCommand, 'StartMetadataModelAssessment')).toEqual([
      { MigrationProjectIdentifier: PROJECT, SelectionRules: JSON.stringify({ rules: withServer }) },
    ]);
    expect(sent(StartMetadataModelConversionCommand, 'StartMetadataModelConversion')).toEqual([
      { MigrationProjectIdentifier: PROJECT, SelectionRules: JSON.stringify({ rules: withServer }) },
    ]);
    expect(sent(DescribeDataProvidersCommand, 'DescribeDataProviders')).toEqual([{ Filters: [{ Name: 'data-provider-identifier', Values: [SOURCE_PROVIDER] }] }]);
    expect(result).toEqual({
      PhysicalResourceId: 'dms-schema-conversion:convert-1',
      Data: {
        StartedAt: String(NOW),
        Deadline: String(NOW + 55 * 60_000),
        PropertiesHash: expect.stringMatching(/^[0-9a-f]{64}$/),
        AssessmentRequestId: 'assess-1',
        ConversionRequestId: 'convert-1',
        SourceServerName: SOURCE_HOST,
      },
    });
  });

  test('running, then both succeeded: the report of the selected schemas is exported and read; no blocking item completes the step', async () => {
    const event = request(TYPE, 'Create', CONVERT);
    const poll = polled(event, await onEvent(event));
    describing(DescribeMetadataModelAssessmentsCommand,
      status('assess-1', 'IN_PROGRESS', { Progress: { ProgressPercent: 40, ProgressStep: 'ANALYZING', TotalObjects: 12 } }), status('assess-1', 'SUCCESS'));
    describing(DescribeMetadataModelConversionsCommand, status('convert-1', 'QUEUED'), status('convert-1', 'IN_PROGRESS'), status('convert-1', 'SUCCESS'));
    s3Objects.set(`${BUCKET}/${REPORT_KEY}`, mysqlReport(SHOP_ITEMS.filter(i => i.complexity !== 'Complex')));

    await expect(isComplete(poll)).resolves.toEqual({ IsComplete: false });
    await expect(isComplete(poll)).resolves.toEqual({ IsComplete: false });
    await expect(isComplete(poll)).resolves.toEqual({
      IsComplete: true,
      Data: { ReportLocation: `s3://${BUCKET}/${REPORT_KEY}`, ActionItems: '2', AcknowledgedActionItems: '0' },
    });
    expect(sent(DescribeMetadataModelAssessmentsCommand, 'DescribeMetadataModelAssessments')[0])
      .toEqual({ MigrationProjectIdentifier: PROJECT, Filters: [{ Name: 'request-id', Values: ['assess-1'] }] });
    expect(sent(DescribeMetadataModelConversionsCommand, 'DescribeMetadataModelConversions')[0])
      .toEqual({ MigrationProjectIdentifier: PROJECT, Filters: [{ Name: 'request-id', Values: ['convert-1'] }] });
    // the assessment report takes explicit rules only: one per selected schema
    expect(sent(ExportMetadataModelAssessmentCommand, 'ExportMetadataModelAssessment')).toEqual([{
      MigrationProjectIdentifier: PROJECT,
      SelectionRules: JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'schema-1', 'rule-action': 'explicit', 'object-locator': { 'server-name': SOURCE_HOST, 'schema-name': 'shop' } }] }),
      FileName: 'cdk-neon-migration-assessment-assess-1',
      AssessmentReportTypes: ['csv'],
    }]);
    expect(s3Requests()).toEqual([{ Bucket: BUCKET, Key: REPORT_KEY }]);
  });

  test('action items at or above failOn fail the deployment with the counts, the first items and the report\'s S3 location', async () => {
    describing(DescribeMetadataModelAssessmentsCommand, status('assess-1', 'SUCCESS'));
    describing(DescribeMetadataModelConversionsCommand, status('convert-1', 'SUCCESS'));
    s3Objects.set(`${BUCKET}/${REPORT_KEY}`, mysqlReport(SHOP_ITEMS));
    const event = request(TYPE, 'Create', { ...CONVERT, FailOn: 'MEDIUM' });
    const failure = isComplete(polled(event, await onEvent(event)));
    await expect(failure).rejects.toThrow(/found 2 action item\(s\) at or above MEDIUM that no acknowledgement covers \(all items: CRITICAL 0, HIGH 1, MEDIUM 1, LOW 1, INFO 0\)/);
    await expect(isComplete(polled(event, await onEvent(event)))).rejects.toThrow(
      new RegExp('#9996 HIGH \\(Complex\\) at Servers.shop-db.Schemas.shop.Tables.orders.Triggers.orders_audit: Unable to convert the trigger.*'
        + `#9998 MEDIUM \\(Medium\\).*Full report: s3://${BUCKET}/${REPORT_KEY}\\. Nothing was applied to Neon`));
  });

  test('acknowledged items pass', async () => {
    describing(DescribeMetadataModelAssessmentsCommand, status('assess-1', 'SUCCESS'));
    describing(DescribeMetadataModelConversionsCommand, status('convert-1', 'SUCCESS'));
    s3Objects.set(`${BUCKET}/${REPORT_KEY}`, mysqlReport(SHOP_ITEMS));
    const event = request(TYPE, 'Create', { ...CONVERT, FailOn: 'MEDIUM', Acknowledged: JSON.stringify([{ ActionItem: '9996' }, { ActionItem: '9998', Occurrence: 'Servers.shop-db.Schemas.shop.Procedures' }]) });
    await expect(isComplete(polled(event, await onEvent(event)))).resolves.toEqual({
      IsComplete: true, Data: expect.objectContaining({ ActionItems: '3', AcknowledgedActionItems: '2' }),
    });
  });

  test('a report not in the bucket yet is looked for again on the next poll', async () => {
    describing(DescribeMetadataModelAssessmentsCommand, status('assess-1', 'SUCCESS'));
    describing(DescribeMetadataModelConversionsCommand, status('convert-1', 'SUCCESS'));
    const event = request(TYPE, 'Create', CONVERT);
    const poll = polled(event, await onEvent(event));
    await expect(isComplete(poll)).resolves.toEqual({ IsComplete: false });
    s3Objects.set(`${BUCKET}/${REPORT_KEY}`, mysqlReport([]));
    await expect(isComplete(poll)).resolves.toEqual(expect.objectContaining({ IsComplete: true }));
  });

  test('a refused read of the report (AccessDenied: no s3:ListBucket, or a policy denying the read) fails at once, naming the permissions', async () => {
    describing(DescribeMetadataModelAssessmentsCommand, status('assess-1', 'SUCCESS'));
    describing(DescribeMetadataModelConversionsCommand, status('convert-1', 'SUCCESS'));
    const denied = new Error('Access Denied');
    denied.name = 'AccessDenied';
    s3Objects.set(`${BUCKET}/${REPORT_KEY}`, denied);
    const event = request(TYPE, 'Create', CONVERT);
    const poll = polled(event, await onEvent(event));
    await expect(isComplete(poll)).rejects.toThrow(`Reading the assessment report s3://${BUCKET}/${REPORT_KEY} was refused (Access Denied). The handler's `
      + 'role needs s3:GetObject on the report and s3:ListBucket on the bucket for keys holding cdk-neon-migration-assessment- (without it S3 answers '
      + 'AccessDenied for a report not written yet, too): the construct grants both; check for a bucket policy, permissions boundary or SCP that denies them.');
    // the report is named as the construct's permissions expect
    expect(sent(ExportMetadataModelAssessmentCommand, 'ExportMetadataModelAssessment')[0].FileName).toBe('cdk-neon-migration-assessment-assess-1');
  });

  test.each<[string, string, RegExp]>([
    ['no SNI reached Neon', 'ERROR: Endpoint ID is not specified. Either please upgrade the postgres client library (libpq) for SNI support or pass the endpoint ID '
      + '(first part of the domain name) as a parameter: \'?options=endpoint%3D<endpoint-id>\'. See more at https://neon.tech/sni',
    /Hint: Neon refused the connection\. Neon did not learn which compute endpoint .* DMS Schema Conversion connected to Neon without SNI: set neonPasswordForm: NeonPasswordForm\.ENDPOINT_IN_PASSWORD/],
    ['the password (or its form) was refused', 'FATAL: password authentication failed for user \'app\'',
      /Hint: Neon refused the connection\. Neon refused the password\. .*takes the whole string for the password.* neonPasswordForm PLAIN \(the default\) fits a connection that sends SNI, ENDPOINT_IN_PASSWORD one that does not/],
    ['the compute endpoint is disabled', 'ERROR: The endpoint has been disabled. Enable it using Neon API and retry.',
      /Hint: Neon refused the connection\. The Neon compute endpoint is disabled: enable it in the Neon console .* or with the Neon API, then deploy again/],
  ])('Neon refused the data provider (%s): the export fails with Neon\'s message and what to change', async (_name, message, expected) => {
    describing(DescribeMetadataModelExportsToTargetCommand, status('export-1', 'FAILED', { Error: { defaultErrorDetails: { Message: message } } }));
    const event = request(TYPE, 'Create', APPLY);
    const error = await isComplete(polled(event, await onEvent(event))).catch((e: Error) => e);
    expect((error as Error).message).toContain(`request export-1 failed: ${message.replace(/\.$/, '')}.`);
    expect((error as Error).message).toMatch(expected);
  });

  test.each<[string, 'assessment' | 'conversion', string, string, RegExp]>([
    ['the assessment failed', 'assessment', 'FAILED', 'The credentials in the secret SOURCE are not valid. Check your username and password and try again.',
      /the metadata-model assessment \(StartMetadataModelAssessment\) request assess-1 failed: The credentials in the secret SOURCE are not valid.*Hint: Check the user name and password/],
    ['the conversion failed', 'conversion', 'FAILED', 'Could not connect to the source database. Please verify your network configuration, server name, and port, then try again.',
      /the conversion \(StartMetadataModelConversion\) request convert-1 failed: Could not connect.*Hint: DMS Schema Conversion connects from the replication subnets/],
    ['the conversion was canceled', 'conversion', 'CANCELED', '', /request convert-1 was canceled: DMS reported no message/],
    ['nothing matched', 'assessment', 'FAILED', 'No objects were found according to the specified selection rules. Please review your selection rules and try again.',
      /Hint: The selection rules match nothing in the source/],
  ])('%s: the deployment fails with DMS\'s message, the request and a hint', async (_name, operation, value, message, expected) => {
    describing(DescribeMetadataModelAssessmentsCommand, operation === 'assessment' ? status('assess-1', value, { Error: { defaultErrorDetails: { Message: message } } }) : status('assess-1', 'SUCCESS'));
    describing(DescribeMetadataModelConversionsCommand, operation === 'conversion' ? status('convert-1', value, { Error: { defaultErrorDetails: { Message: message } } }) : status('convert-1', 'IN_PROGRESS'));
    const event = request(TYPE, 'Create', CONVERT);
    await expect(isComplete(polled(event, await onEvent(event)))).rejects.toThrow(expected);
  });

  test('a throttled poll looks again on the next one', async () => {
    describing(DescribeMetadataModelAssessmentsCommand, throttling(), status('assess-1', 'SUCCESS'));
    describing(DescribeMetadataModelConversionsCommand, status('convert-1', 'SUCCESS'));
    s3Objects.set(`${BUCKET}/${REPORT_KEY}`, mysqlReport([]));
    const event = request(TYPE, 'Create', CONVERT);
    const poll = polled(event, await onEvent(event));
    await expect(isComplete(poll)).resolves.toEqual({ IsComplete: false });
    await expect(isComplete(poll)).resolves.toEqual(expect.objectContaining({ IsComplete: true }));
  });

  test('a throttled start is retried with backoff within onEvent', async () => {
    dmsMock.on(StartMetadataModelConversionCommand).rejectsOnce(throttling()).rejectsOnce(throttling()).resolves({ RequestIdentifier: 'convert-1' });
    await expect(onEvent(request(TYPE, 'Create', CONVERT))).resolves.toEqual(expect.objectContaining({ PhysicalResourceId: 'dms-schema-conversion:convert-1' }));
    expect(sleeps).toEqual([1000, 2000]);
  });

  test('still running past the timeout: fails naming the operation and its request', async () => {
    describing(DescribeMetadataModelAssessmentsCommand, status('assess-1', 'SUCCESS'));
    describing(DescribeMetadataModelConversionsCommand, status('convert-1', 'IN_PROGRESS', { Progress: { ProgressPercent: 80, ProgressStep: 'CONVERTING', TotalObjects: 400 } }));
    const event = request(TYPE, 'Create', { ...CONVERT, TimeoutMinutes: '20' });
    const poll = polled(event, await onEvent(event));
    timing.now = () => NOW + 19 * 60_000;
    await expect(isComplete(poll)).resolves.toEqual({ IsComplete: false });
    timing.now = () => NOW + 21 * 60_000;
    await expect(isComplete(poll)).rejects.toThrow(
      /timed out after 20 minutes \(a custom resource must answer within an hour\): the conversion \(StartMetadataModelConversion\) request convert-1 is IN_PROGRESS \(80%, CONVERTING of 400 objects\)/);
  });

  test.each<['assessment' | 'conversion']>([['assessment'], ['conversion']])('the %s: a throttled poll looks again; still running past the timeout fails naming it', async (operation) => {
    const running = (id: string) => status(id, 'IN_PROGRESS');
    describing(DescribeMetadataModelAssessmentsCommand, ...(operation === 'assessment' ? [throttling(), running('assess-1')] : [status('assess-1', 'SUCCESS')]));
    describing(DescribeMetadataModelConversionsCommand, ...(operation === 'conversion' ? [throttling(), running('convert-1')] : [status('convert-1', 'SUCCESS')]));
    const event = request(TYPE, 'Create', CONVERT);
    const poll = polled(event, await onEvent(event));
    await expect(isComplete(poll)).resolves.toEqual({ IsComplete: false });
    await expect(isComplete(poll)).resolves.toEqual({ IsComplete: false });
    timing.now = () => NOW + 56 * 60_000;
    const id = operation === 'assessment' ? 'assess-1' : 'convert-1';
    await expect(isComplete(poll)).rejects.toThrow(new RegExp(`timed out after 55 minutes.*the (metadata-model )?${operation} \\(StartMetadata.*\\) request ${id} is IN_PROGRESS`));
  });

  test('a throttled export of the report looks again on the next poll; a report that never arrives fails at the timeout', async () => {
    describing(DescribeMetadataModelAssessmentsCommand, status('assess-1', 'SUCCESS'));
    describing(DescribeMetadataModelConversionsCommand, status('convert-1', 'SUCCESS'));
    dmsMock.on(ExportMetadataModelAssessmentCommand).rejectsOnce(throttling()).resolves({ CsvReport: { S3ObjectKey: REPORT_KEY } });
    const event = request(TYPE, 'Create', CONVERT);
    const poll = polled(event, await onEvent(event));
    await expect(isComplete(poll)).resolves.toEqual({ IsComplete: false });
    await expect(isComplete(poll)).resolves.toEqual({ IsComplete: false });
    timing.now = () => NOW + 56 * 60_000;
    await expect(isComplete(poll)).rejects.toThrow(/timed out after 55 minutes.*the assessment report is not in the bucket/);
  });

  test('a report this reader does not understand fails instead of passing', async () => {
    describing(DescribeMetadataModelAssessmentsCommand, status('assess-1', 'SUCCESS'));
    describing(DescribeMetadataModelConversionsCommand, status('convert-1', 'SUCCESS'));
    s3Objects.set(`${BUCKET}/${REPORT_KEY}`, Buffer.from('not a zip archive at all'));
    const event = request(TYPE, 'Create', CONVERT);
    await expect(isComplete(polled(event, await onEvent(event)))).rejects.toThrow(new RegExp(`The assessment report s3://${BUCKET}/${REPORT_KEY} cannot be read: .*not a ZIP archive`));
  });
});

describe('apply: the export of the converted schemas to Neon', () => {
  test('the converted schema is found with GetTargetSelectionRules and exported to Neon', async () => {
    const result = await onEvent(request(TYPE, 'Create', APPLY));
    expect(sent(GetTargetSelectionRulesCommand, 'GetTargetSelectionRules')).toEqual([{
      MigrationProjectIdentifier: PROJECT,
      SelectionRules: JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'schema-1', 'rule-action': 'explicit', 'object-locator': { 'server-name': SOURCE_HOST, 'schema-name': 'shop' } }] }),
    }]);
    expect(sent(StartMetadataModelExportToTargetCommand, 'StartMetadataModelExportToTarget')).toEqual([{
      MigrationProjectIdentifier: PROJECT,
      SelectionRules: JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'apply-1', 'rule-action': 'explicit', 'object-locator': { 'server-name': NEON_HOST, 'schema-name': 'shop' } }] }),
      OverwriteExtensionPack: true,
    }]);
    expect(result).toEqual({ PhysicalResourceId: 'dms-schema-conversion-apply:export-1', Data: expect.objectContaining({ ExportRequestId: 'export-1', TargetSchemas: 'shop' }) });

    describing(DescribeMetadataModelExportsToTargetCommand, status('export-1', 'IN_PROGRESS', { Progress: { ProgressPercent: 50, ProgressStep: 'APPLYING' } }), throttling(), status('export-1', 'SUCCESS'));
    const poll = polled(request(TYPE, 'Create', APPLY), result);
    await expect(isComplete(poll)).resolves.toEqual({ IsComplete: false });
    await expect(isComplete(poll)).resolves.toEqual({ IsComplete: false });
    await expect(isComplete(poll)).resolves.toEqual({ IsComplete: true });
    expect(sent(DescribeMetadataModelExportsToTargetCommand, 'DescribeMetadataModelExportsToTarget')[0])
      .toEqual({ MigrationProjectIdentifier: PROJECT, Filters: [{ Name: 'request-id', Values: ['export-1'] }] });
  });

  test('SQL Server: a converted schema the task does not write to is refused before anything reaches Neon, naming the rename to add', async () => {
    dmsMock.on(GetTargetSelectionRulesCommand).resolves({
      TargetSelectionRules: JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'rule-action': 'explicit', 'object-locator': { 'server-name': NEON_HOST, 'schema-name': 'sales_dbo' } }] }),
    });
    const props = { ...APPLY, Engine: 'sqlserver', DatabaseName: 'Sales', Schemas: JSON.stringify([{ source: 'dbo', target: 'dbo' }]) };
    await expect(onEvent(request(TYPE, 'Create', props))).rejects.toThrow(
      /converted the source schema 'Sales.dbo' into the Neon schema 'sales_dbo', but the replication task writes its tables to 'dbo'.*Add renameSchema\('dbo', 'sales_dbo'\)/);
    expect(JSON.parse(sent(GetTargetSelectionRulesCommand, 'GetTargetSelectionRules')[0].SelectionRules!).rules[0]['object-locator'])
      .toEqual({ 'server-name': SOURCE_HOST, 'database-name': 'Sales', 'schema-name': 'dbo' });
    expect(dmsMock.commandCalls(StartMetadataModelExportToTargetCommand)).toHaveLength(0);
  });

  test('the export failed: the deployment fails with DMS\'s message and a hint', async () => {
    describing(DescribeMetadataModelExportsToTargetCommand, status('export-1', 'FAILED', { Error: { defaultErrorDetails: { Message: 'The specified account does not have sufficient privileges for working with one or several objects.' } } }));
    const event = request(TYPE, 'Create', APPLY);
    await expect(isComplete(polled(event, await onEvent(event)))).rejects.toThrow(
      /the export to Neon \(StartMetadataModelExportToTarget\) request export-1 failed: .*sufficient privileges.*Hint: .*CONNECT and CREATE ON DATABASE/);
  });

  test('the export still running past the timeout fails naming it', async () => {
    describing(DescribeMetadataModelExportsToTargetCommand, status('export-1', 'IN_PROGRESS'));
    const event = request(TYPE, 'Create', APPLY);
    const poll = polled(event, await onEvent(event));
    timing.now = () => NOW + 56 * 60_000;
    await expect(isComplete(poll)).rejects.toThrow(/timed out after 55 minutes.*the export to Neon \(StartMetadataModelExportToTarget\) request export-1 is IN_PROGRESS/);
  });

  test('no converted schema: fails naming the source schema', async () => {
    dmsMock.on(GetTargetSelectionRulesCommand).resolves({ TargetSelectionRules: '{"rules":[]}' });
    await expect(onEvent(request(TYPE, 'Create', APPLY))).rejects.toThrow(/names no converted schema for the source schema 'shop'/);
  });
});

describe('when the steps run again', () => {
  test.each<[string, 'Update' | 'Delete', Record<string, string>, Record<string, string> | undefined]>([
    ['a Delete (the schema stays in Neon)', 'Delete', CONVERT, undefined],
    ['an update that changes nothing', 'Update', CONVERT, CONVERT],
    ['an update of the apply step whose conversion did not run again', 'Update', APPLY, APPLY],
  ])('%s runs nothing', async (_name, type, props, old) => {
    const event = request(TYPE, type, props, old);
    const result = await onEvent(event);
    expect(result).toEqual({ PhysicalResourceId: 'physical' });
    await expect(isComplete(polled(event, result))).resolves.toEqual({ IsComplete: true });
    expect(dmsMock.calls()).toHaveLength(0);
  });

  test('an update of what is converted reads the source\'s metadata again first, then converts again under a new physical id', async () => {
    dmsMock.on(StartMetadataModelImportCommand).resolves({ RequestIdentifier: 'import-1' });
    const event = request(TYPE, 'Update', { ...CONVERT, Refresh: '2' }, CONVERT);
    const result = await onEvent(event);
    expect(result.PhysicalResourceId).toBe('dms-schema-conversion:convert-1');
    const rules = JSON.parse(sent(StartMetadataModelConversionCommand, 'StartMetadataModelConversion')[0].SelectionRules!);
    expect(sent(StartMetadataModelImportCommand, 'StartMetadataModelImport')).toEqual([
      { MigrationProjectIdentifier: PROJECT, SelectionRules: JSON.stringify(rules), Origin: 'SOURCE', Refresh: true },
    ]);
    // queued in this order: DMS runs a project's requests in turn
    const order = dmsMock.calls().map(c => c.args[0].constructor.name).filter(n => /^StartMetadataModel/.test(n));
    expect(order).toEqual(['StartMetadataModelImportCommand', 'StartMetadataModelAssessmentCommand', 'StartMetadataModelConversionCommand']);
    expect(result.Data).toEqual(expect.objectContaining({ ImportRequestId: 'import-1' }));
    // a failed refresh fails the step with DMS's message
    describing(DescribeMetadataModelImportsCommand, status('import-1', 'FAILED', { Error: { defaultErrorDetails: { Message: 'The specified source database name was not found.' } } }));
    await expect(isComplete(polled(event, result))).rejects.toThrow(/the refresh of the source's metadata \(StartMetadataModelImport\) request import-1 failed: The specified source database name was not found/);
    expect(sent(DescribeMetadataModelImportsCommand, 'DescribeMetadataModelImports')[0]).toEqual({ MigrationProjectIdentifier: PROJECT, Filters: [{ Name: 'request-id', Values: ['import-1'] }] });
  });

  test('a first run has nothing to refresh', async () => {
    await onEvent(request(TYPE, 'Create', CONVERT));
    expect(dmsMock.commandCalls(StartMetadataModelImportCommand)).toHaveLength(0);
  });

  test('the update CloudFormation sends while it rolls a failed update back runs nothing: it would apply the old schema over the loaded data', async () => {
    stackIs('UPDATE_ROLLBACK_IN_PROGRESS');
    // the provider's dispatcher keeps the rule for every kind that does not say otherwise
    const result = await dispatcher.onEvent(request(TYPE, 'Update', CONVERT, { ...CONVERT, Refresh: '2' }));
    expect(result).toEqual({ PhysicalResourceId: 'physical' });
    expect(dmsMock.commandCalls(StartMetadataModelConversionCommand)).toHaveLength(0);
  });

  test('the properties hash ignores the service token and the order of the keys', () => {
    expect(propertiesHash({ ServiceToken: 'a', A: '1', B: '2' })).toBe(propertiesHash({ B: '2', A: '1', ServiceToken: 'b' }));
    expect(propertiesHash({ A: '1' })).not.toBe(propertiesHash({ A: '2' }));
  });

  test('a DMS fault on a start fails the deployment as it is', async () => {
    dmsMock.on(StartMetadataModelAssessmentCommand).rejects(fault('S3AccessDeniedFault', 'Access to the project storage is denied.'));
    await expect(onEvent(request(TYPE, 'Create', CONVERT))).rejects.toThrow('Access to the project storage is denied.');
  });
});

test('the check against the DMS API model catches requests DMS would refuse', () => {
  expect(dmsInputProblems('StartMetadataModelAssessment', { MigrationProjectIdentifier: PROJECT }))
    .toEqual(['StartMetadataModelAssessment: required member SelectionRules is missing']);
  expect(dmsInputProblems('StartMetadataModelExportToTarget', { MigrationProjectIdentifier: PROJECT, SelectionRules: '{}', OverwriteExtensionPack: 'true' }))
    .toEqual(['StartMetadataModelExportToTarget.OverwriteExtensionPack: expected a boolean, got "true"']);
  expect(dmsInputProblems('DescribeMetadataModelConversions', { MigrationProjectIdentifier: PROJECT, Filters: [{ Name: 'request-id', Value: 'x' }] })).toEqual([
    'DescribeMetadataModelConversions.Filters[0]: required member Values is missing',
    'DescribeMetadataModelConversions.Filters[0]: Filter has no member Value',
  ]);
  expect(dmsInputProblems('ExportMetadataModelAssessment', { MigrationProjectIdentifier: PROJECT, SelectionRules: '{}', AssessmentReportTypes: 'csv' }))
    .toEqual(['ExportMetadataModelAssessment.AssessmentReportTypes: expected a list, got "csv"']);
  expect(dmsInputProblems('StartSomethingElse', {})).toEqual(['StartSomethingElse is not an operation of the DMS API model']);
});
