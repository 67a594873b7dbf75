// The AWS SDK comes from the Lambda runtime: the handler bundles mark it external.
import * as crypto from 'crypto';
import {
  DatabaseMigrationServiceClient,
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
import { actionItemsOf, describeCounts, describeItem, gate, readZip, REPORT_FILE_PREFIX } from './assessment-report';
import { ActionItemSeverity, parseSeverity } from './severity';
import { errorMessage, isError, isThrottling, timing, withThrottleRetry } from '../core/api-calls';
import { NEON_REFUSAL_CAUSES, NeonRefusal, neonRefusalOf } from '../core/neon-refusals';
import type { IsCompleteResult, OnEventResult, ProviderRequest } from '../provider/handler-types';

/*
 * Custom::DmsSchemaConversion, in two steps of one migration project:
 *
 * - `convert`: onEvent queues the metadata-model assessment and the conversion of the objects the
 *   task's selection rules select (DMS runs a project's requests in turn; when the step runs again, a
 *   refresh of the source's metadata goes first); isComplete waits for them,
 *   then exports the assessment report (CSV, in the project's bucket), reads its action items and
 *   fails the deployment on those at or above `FailOn` that no acknowledgement covers.
 * - `apply`: onEvent finds the converted schemas (GetTargetSelectionRules) and checks that they are
 *   the schemas the task writes to, then queues the export of the converted objects to Neon
 *   (StartMetadataModelExportToTarget); isComplete waits for it.
 *
 * The Provider framework gives isComplete the same request on every poll (what onEvent returned is
 * all it carries), so each step starts its operations in onEvent and only looks at them afterwards.
 * A poll that DMS throttles looks again on the next one. A step that has not finished `TimeoutMinutes`
 * after it started fails, naming the operation and its request: a custom resource answers within an
 * hour. Each step runs again only when its properties change (not while a failed update is rolled
 * back); Delete removes nothing from Neon.
 */

/** Properties of a `Custom::DmsSchemaConversion` resource (CloudFormation passes every value as a string). */
export interface SchemaConversionProperties {
  /** `convert` or `apply`. */
  readonly Step: string;
  readonly MigrationProjectArn: string;
  readonly SourceDataProviderArn: string;
  /** JSON: the source selection rules, without `server-name`. */
  readonly Rules?: string;
  /** JSON: the selected source schemas and the Neon schema the task writes each to (`[{source, target}]`). */
  readonly Schemas: string;
  /** `mysql`, `oracle` or `sqlserver`. */
  readonly Engine: string;
  /** SQL Server: the database the schemas are in. */
  readonly DatabaseName?: string;
  /** `convert`: the project's bucket, where the assessment report is written. */
  readonly BucketName?: string;
  /** `convert`: the least severity that fails the deployment. */
  readonly FailOn?: string;
  /** `convert`: JSON, the acknowledged action items (`[{ActionItem, Occurrence?}]`). */
  readonly Acknowledged?: string;
  /** `apply`: the physical id of the `convert` step (changes with each conversion). */
  readonly Conversion?: string;
  /** `apply`: `true` to overwrite an existing extension pack. */
  readonly OverwriteExtensionPack?: string;
  /** How long the step may take, in minutes. */
  readonly TimeoutMinutes: string;
  /** Changing it runs the steps again. */
  readonly Refresh?: string;
}

interface SchemaPair {
  readonly source: string;
  readonly target: string;
}

interface SelectionRule {
  readonly 'rule-type': 'selection';
  readonly 'rule-id': string;
  readonly 'rule-name': string;
  readonly 'rule-action': string;
  readonly 'object-locator': Record<string, string>;
}

/** The operations DMS Schema Conversion runs for a step, as messages name them. */
const OPERATIONS = {
  import: 'refresh of the source\'s metadata (StartMetadataModelImport)',
  assessment: 'metadata-model assessment (StartMetadataModelAssessment)',
  conversion: 'conversion (StartMetadataModelConversion)',
  export: 'export to Neon (StartMetadataModelExportToTarget)',
} as const;
type Operation = keyof typeof OPERATIONS;

/** Items a failure message lists; the full report is in S3. */
const LISTED_ITEMS = 5;

/** What DMS Schema Conversion reports, and what to do about it. */
const FAILURE_HINTS: { pattern: RegExp; hint: string }[] = [
  {
    pattern: /credentials .*not valid/i,
    hint: 'Check the user name and password in the data provider\'s secret.',
  },
  {
    pattern: /could not connect|connection has not been established|timeout/i,
    hint: 'DMS Schema Conversion connects from the replication subnets and security group: the source database must admit that group on its '
      + 'port, and Neon (through the NAT gateway) must allow the NAT\'s Elastic IP if it has an IP Allow list.',
  },
  {
    pattern: /sufficient privileges|permission denied/i,
    hint: 'A MySQL source user needs SELECT and SHOW VIEW ON *.*; the Neon role CONNECT and CREATE ON DATABASE.',
  },
  { pattern: /no objects were found/i, hint: 'The selection rules match nothing in the source: check the (case-sensitive) schema and table names.' },
  { pattern: /secrets manager|secret does not exist/i, hint: 'The replication subnets need a route to Secrets Manager (the network\'s interface endpoint).' },
  { pattern: /s3|storage|bucket/i, hint: 'Check the project\'s S3 role and bucket (versioning on, SSE-S3).' },
];

/**
 * What to change when Neon refused the Neon data provider. Its secret holds the plain password
 * (clientCredentialsSecret) unless neonPasswordForm says otherwise; whether DMS Schema Conversion's
 * connection sends TLS SNI, which decides the form Neon reads, is not documented.
 */
const NEON_HINTS: Record<NeonRefusal, string> = {
  'endpoint-not-specified': `${NEON_REFUSAL_CAUSES['endpoint-not-specified']} DMS Schema Conversion connected to Neon without SNI: set `
    + 'neonPasswordForm: NeonPasswordForm.ENDPOINT_IN_PASSWORD (schemaConversion of DmsMigrationTask, or DmsSchemaConversion), so that the Neon '
    + 'data provider reads the DMS endpoint\'s secret, whose password is endpoint=<endpoint_id>$<password>.',
  'password-failed': `${NEON_REFUSAL_CAUSES['password-failed']} Check the role's password in the Neon console against the connection-string `
    + 'secret (or the password given to NeonTargetEndpoint). If it is right, the data provider read the form its connection does not use: '
    + 'neonPasswordForm PLAIN (the default) fits a connection that sends SNI, ENDPOINT_IN_PASSWORD one that does not.',
  'endpoint-disabled': NEON_REFUSAL_CAUSES['endpoint-disabled'],
  'ip-not-allowed': NEON_REFUSAL_CAUSES['ip-not-allowed'],
  'inconsistent-endpoint': NEON_REFUSAL_CAUSES['inconsistent-endpoint'],
  'endpoint-not-found': NEON_REFUSAL_CAUSES['endpoint-not-found'],
};

let client: DatabaseMigrationServiceClient | undefined;
function dms(): DatabaseMigrationServiceClient {
  client ??= new DatabaseMigrationServiceClient({ maxAttempts: 4 });
  return client;
}

let s3Client: S3Client | undefined;
function s3(): S3Client {
  s3Client ??= new S3Client({ maxAttempts: 4 });
  return s3Client;
}

function props(event: ProviderRequest): SchemaConversionProperties {
  return event.ResourceProperties as unknown as SchemaConversionProperties;
}

/** SHA-256 of a resource's properties (without the service token), keys sorted. */
export function propertiesHash(properties: Record<string, unknown> | undefined): string {
  const { ServiceToken: _token, ...rest } = properties ?? {};
  const sorted = Object.fromEntries(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b)));
  return crypto.createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
}

export async function onEvent(event: ProviderRequest): Promise<OnEventResult> {
  const p = props(event);
  if (event.RequestType === 'Delete') {
    console.log('Delete: the converted schema stays in Neon');
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  if (event.RequestType === 'Update') {
    if (propertiesHash(event.ResourceProperties) === propertiesHash(event.OldResourceProperties)) {
      console.log(`Update of the ${p.Step} step: its properties are unchanged, nothing runs`);
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
  }
  const startedAt = timing.now();
  const deadline = startedAt + Number(p.TimeoutMinutes) * 60_000;
  const data = { StartedAt: String(startedAt), Deadline: String(deadline), PropertiesHash: propertiesHash(event.ResourceProperties) };
  switch (p.Step) {
    case 'convert':
      // the metadata tree keeps what it loaded before: a run after the first reads the source again
      return startConversion(p, data, event.RequestType === 'Update');
    case 'apply':
      return startExport(p, data);
    default:
      throw new Error(`Custom::DmsSchemaConversion: unknown Step '${p.Step}' (convert or apply).`);
  }
}

export async function isComplete(event: ProviderRequest): Promise<IsCompleteResult> {
  const data = event.Data ?? {};
  if (event.RequestType === 'Delete' || !data.StartedAt) {
    return { IsComplete: true };
  }
  const p = props(event);
  try {
    return p.Step === 'convert' ? await conversionPoll(p, data) : await exportPoll(p, data);
  } catch (e) {
    if (isThrottling(e)) {
      console.log(`DMS throttled this poll (${errorMessage(e)}); looking again on the next one`);
      return { IsComplete: false };
    }
    throw e;
  }
}

// ---- convert

/** Queues the assessment and the conversion of the selected objects, after a refresh of their metadata when `refresh`. */
async function startConversion(p: SchemaConversionProperties, data: Record<string, string>, refresh: boolean): Promise<OnEventResult> {
  const server = await serverNameOf(p.SourceDataProviderArn);
  const rules = withServer(JSON.parse(p.Rules ?? '[]') as SelectionRule[], server);
  const selection = JSON.stringify({ rules });
  let importId: string | undefined;
  if (refresh) {
    const imported = await withThrottleRetry('StartMetadataModelImport', () => dms().send(new StartMetadataModelImportCommand({
      MigrationProjectIdentifier: p.MigrationProjectArn,
      SelectionRules: selection,
      Origin: 'SOURCE',
      Refresh: true,
    })));
    importId = requireId(imported.RequestIdentifier, 'import');
  }
  const assessment = await withThrottleRetry('StartMetadataModelAssessment', () => dms().send(new StartMetadataModelAssessmentCommand({
    MigrationProjectIdentifier: p.MigrationProjectArn,
    SelectionRules: selection,
  })));
  const conversion = await withThrottleRetry('StartMetadataModelConversion', () => dms().send(new StartMetadataModelConversionCommand({
    MigrationProjectIdentifier: p.MigrationProjectArn,
    SelectionRules: selection,
  })));
  const assessmentId = requireId(assessment.RequestIdentifier, 'assessment');
  const conversionId = requireId(conversion.RequestIdentifier, 'conversion');
  console.log(`Queued ${importId ? `the ${OPERATIONS.import} as request ${importId}, ` : ''}the ${OPERATIONS.assessment} as request ${assessmentId} `
    + `and the ${OPERATIONS.conversion} as request ${conversionId}`);
  return {
    PhysicalResourceId: `dms-schema-conversion:${conversionId}`,
    Data: {
      ...data,
      ...(importId ? { ImportRequestId: importId } : {}),
      AssessmentRequestId: assessmentId,
      ConversionRequestId: conversionId,
      SourceServerName: server,
    },
  };
}

/** Waits for the queued requests; with all done, the assessment report decides. */
async function conversionPoll(p: SchemaConversionProperties, data: Record<string, string>): Promise<IsCompleteResult> {
  const requests: [Operation, string][] = [
    ...(data.ImportRequestId ? [['import', data.ImportRequestId] as [Operation, string]] : []),
    ['assessment', data.AssessmentRequestId],
    ['conversion', data.ConversionRequestId],
  ];
  const pending: [Operation, SchemaConversionRequest | undefined, string][] = [];
  for (const [operation, id] of requests) {
    const request = await describeRequest(operation, p.MigrationProjectArn, id);
    failIfFailed(operation, request, id);
    if (request?.Status !== 'SUCCESS') pending.push([operation, request, id]);
  }
  if (pending.length > 0) {
    failIfLate(p, data, pending);
    return { IsComplete: false };
  }
  const report = await assessmentReport(p, data);
  if (!report) {
    failIfLate(p, data, []);
    return { IsComplete: false };
  }
  return { IsComplete: true, Data: report };
}

/**
 * Exports the assessment report (CSV) of the selected schemas, reads it, and fails on blocking action
 * items. Undefined while the report is not in the bucket yet.
 */
async function assessmentReport(p: SchemaConversionProperties, data: Record<string, string>): Promise<Record<string, string> | undefined> {
  const schemas = JSON.parse(p.Schemas) as SchemaPair[];
  const rules = schemas.map((schema, i) => explicitSchemaRule(i + 1, data.SourceServerName, schema.source, p));
  const exported = await dms().send(new ExportMetadataModelAssessmentCommand({
    MigrationProjectIdentifier: p.MigrationProjectArn,
    SelectionRules: JSON.stringify({ rules }),
    FileName: `${REPORT_FILE_PREFIX}${data.AssessmentRequestId}`.replace(/[^A-Za-z0-9-]/g, '-'),
    AssessmentReportTypes: ['csv'],
  }));
  const key = exported.CsvReport?.S3ObjectKey;
  if (!key) {
    throw new Error(`DMS Schema Conversion exported no CSV assessment report for the ${OPERATIONS.assessment} request ${data.AssessmentRequestId}.`);
  }
  const location = `s3://${p.BucketName}/${key}`;
  let archive: Buffer;
  try {
    const object = await s3().send(new GetObjectCommand({ Bucket: p.BucketName!, Key: key }));
    archive = Buffer.from(await object.Body!.transformToByteArray());
  } catch (e) {
    // S3 answers NoSuchKey for a key not written yet only to a reader that may list the bucket (s3:ListBucket)
    if (isError(e, 'NoSuchKey', 'NotFound')) {
      console.log(`The assessment report ${location} is not in the bucket yet; looking again on the next poll`);
      return undefined;
    }
    if (isError(e, 'AccessDenied', 'Forbidden')) {
      throw new Error(`Reading the assessment report ${location} was refused (${errorMessage(e)}). The handler's role needs s3:GetObject on the `
        + `report and s3:ListBucket on the bucket for keys holding ${REPORT_FILE_PREFIX} (without it S3 answers AccessDenied for a report `
        + 'not written yet, too): the construct grants both; check for a bucket policy, permissions boundary or SCP that denies them.');
    }
    throw e;
  }
  let items;
  try {
    items = actionItemsOf(readZip(archive));
  } catch (e) {
    throw new Error(`The assessment report ${location} cannot be read: ${errorMessage(e)}. Review it and acknowledge its action items, or set failOn to `
      + 'a level above every item and review the report yourself.');
  }
  const threshold = parseSeverity(p.FailOn ?? '') ?? ActionItemSeverity.HIGH;
  const acknowledged = (JSON.parse(p.Acknowledged ?? '[]') as { ActionItem: string; Occurrence?: string }[])
    .map(a => ({ actionItem: String(a.ActionItem), occurrence: a.Occurrence }));
  const result = gate(items, threshold, acknowledged);
  console.log(`Assessment report ${location}: ${items.length} action item(s) (${describeCounts(result.counts)}); `
    + `${result.acknowledged.length} acknowledged at or above ${threshold}, ${result.blocking.length} blocking`);
  if (result.blocking.length > 0) {
    const listed = result.blocking.slice(0, LISTED_ITEMS).map(item => describeItem(item)).join('; ');
    const more = result.blocking.length > LISTED_ITEMS ? `; and ${result.blocking.length - LISTED_ITEMS} more` : '';
    throw new Error(`DMS Schema Conversion found ${result.blocking.length} action item(s) at or above ${threshold} that no acknowledgement covers `
      + `(all items: ${describeCounts(result.counts)}): ${listed}${more}. Full report: ${location}. Nothing was applied to Neon. Change the source `
      + 'objects, or plan their conversion by hand and acknowledge the items (acknowledgedActionItems: action item number, reason), or raise failOn.');
  }
  return {
    ReportLocation: location,
    ActionItems: String(items.length),
    AcknowledgedActionItems: String(result.acknowledged.length),
  };
}

// ---- apply

/** Finds the converted schemas, checks them against the task's, and queues their export to Neon. */
async function startExport(p: SchemaConversionProperties, data: Record<string, string>): Promise<OnEventResult> {
  const sourceServer = await serverNameOf(p.SourceDataProviderArn);
  const schemas = JSON.parse(p.Schemas) as SchemaPair[];
  const rules: SelectionRule[] = [];
  for (const schema of schemas) {
    const answer = await withThrottleRetry('GetTargetSelectionRules', () => dms().send(new GetTargetSelectionRulesCommand({
      MigrationProjectIdentifier: p.MigrationProjectArn,
      SelectionRules: JSON.stringify({ rules: [explicitSchemaRule(1, sourceServer, schema.source, p)] }),
    })));
    const rule = (JSON.parse(answer.TargetSelectionRules ?? '{"rules":[]}') as { rules?: SelectionRule[] }).rules?.[0];
    const converted = rule?.['object-locator']?.['schema-name'];
    if (!rule || !converted) {
      throw new Error(`DMS Schema Conversion names no converted schema for the source schema ${describeSchema(schema.source, p)} `
        + `(GetTargetSelectionRules answered ${answer.TargetSelectionRules ?? 'nothing'}): the conversion converted nothing in it.`);
    }
    if (converted !== schema.target) {
      throw new Error(`DMS Schema Conversion converted the source schema ${describeSchema(schema.source, p)} into the Neon schema '${converted}', `
        + `but the replication task writes its tables to '${schema.target}': the load would miss the converted tables. Add `
        + `renameSchema('${schema.source}', '${converted}') to the table mappings (or convertLowercase(TransformationTarget.SCHEMA) when only the case differs)`
        + (p.Engine === 'sqlserver'
          ? '; for SQL Server the construct adds <database>_<schema> renames itself, so the migration project names schemas otherwise (its '
            + '"Schema names" setting): set renameSqlServerSchemas: false and rename to the converted names.'
          : '.'));
    }
    rules.push({ ...rule, 'rule-id': String(rules.length + 1), 'rule-name': `apply-${rules.length + 1}`, 'rule-action': 'explicit' });
  }
  const started = await withThrottleRetry('StartMetadataModelExportToTarget', () => dms().send(new StartMetadataModelExportToTargetCommand({
    MigrationProjectIdentifier: p.MigrationProjectArn,
    SelectionRules: JSON.stringify({ rules }),
    OverwriteExtensionPack: p.OverwriteExtensionPack !== 'false',
  })));
  const exportId = requireId(started.RequestIdentifier, 'export');
  console.log(`Queued the ${OPERATIONS.export} of ${schemas.map(s => s.target).join(', ')} as request ${exportId}`);
  return {
    PhysicalResourceId: `dms-schema-conversion-apply:${exportId}`,
    Data: { ...data, ExportRequestId: exportId, TargetSchemas: schemas.map(s => s.target).join(',') },
  };
}

async function exportPoll(p: SchemaConversionProperties, data: Record<string, string>): Promise<IsCompleteResult> {
  const request = await describeRequest('export', p.MigrationProjectArn, data.ExportRequestId);
  failIfFailed('export', request, data.ExportRequestId);
  if (request?.Status !== 'SUCCESS') {
    failIfLate(p, data, [['export', request, data.ExportRequestId]]);
    return { IsComplete: false };
  }
  console.log(`The converted schema (${data.TargetSchemas}) is in Neon`);
  return { IsComplete: true };
}

// ---- shared

/** The request `id` of `operation`, or undefined while DMS does not list it yet. */
async function describeRequest(operation: Operation, project: string, id: string): Promise<SchemaConversionRequest | undefined> {
  const input = { MigrationProjectIdentifier: project, Filters: [{ Name: 'request-id', Values: [id] }] };
  const result = operation === 'import'
    ? await dms().send(new DescribeMetadataModelImportsCommand(input))
    : operation === 'assessment'
      ? await dms().send(new DescribeMetadataModelAssessmentsCommand(input))
      : operation === 'conversion'
        ? await dms().send(new DescribeMetadataModelConversionsCommand(input))
        : await dms().send(new DescribeMetadataModelExportsToTargetCommand(input));
  const request = (result.Requests ?? []).find(r => r.RequestIdentifier === id);
  console.log(`The ${OPERATIONS[operation]} request ${id}: ${request?.Status ?? 'not listed yet'}${progressOf(request)}`);
  return request;
}

function progressOf(request: SchemaConversionRequest | undefined): string {
  const progress = request?.Progress;
  if (!progress) return '';
  const step = progress.ProgressStep ? `, ${progress.ProgressStep}` : '';
  return ` (${progress.ProgressPercent ?? 0}%${step}${progress.TotalObjects !== undefined ? ` of ${progress.TotalObjects} objects` : ''})`;
}

/** Fails the deployment when DMS reports the request failed or canceled, with its message and a hint. */
function failIfFailed(operation: Operation, request: SchemaConversionRequest | undefined, id: string): void {
  const status = request?.Status;
  if (status !== 'FAILED' && status !== 'CANCELED') return;
  const message = (request?.Error?.defaultErrorDetails?.Message ?? '').trim().replace(/\.+$/, '') || 'DMS reported no message';
  // the sources (MySQL, Oracle, SQL Server) word their refusals otherwise: these are Neon's
  const neon = neonRefusalOf(message);
  const hint = neon ? `Neon refused the connection. ${NEON_HINTS[neon]}` : FAILURE_HINTS.find(h => h.pattern.test(message))?.hint;
  throw new Error(`DMS Schema Conversion: the ${OPERATIONS[operation]} request ${id} ${status === 'FAILED' ? 'failed' : 'was canceled'}: `
    + `${message}.${hint ? ` Hint: ${hint}` : ''}`);
}

/** Fails the deployment once the step ran longer than its timeout, naming what is still running. */
function failIfLate(p: SchemaConversionProperties, data: Record<string, string>,
  pending: [Operation, SchemaConversionRequest | undefined, string][]): void {
  if (timing.now() <= Number(data.Deadline)) return;
  const running = pending.length > 0
    ? pending.map(([operation, request, id]) => `the ${OPERATIONS[operation]} request ${id} is ${request?.Status ?? 'not listed'}${progressOf(request)}`).join(', and ')
    : 'the assessment report is not in the bucket';
  throw new Error(`DMS Schema Conversion timed out after ${p.TimeoutMinutes} minutes (a custom resource must answer within an hour): ${running}. `
    + `DMS goes on with queued requests in the migration project ${p.MigrationProjectArn}. Convert fewer objects per deployment, or run this step `
    + 'in the DMS console and deploy again with a changed refresh.');
}

function requireId(id: string | undefined, operation: Operation): string {
  if (!id) {
    throw new Error(`DMS Schema Conversion returned no request identifier for the ${OPERATIONS[operation]}.`);
  }
  return id;
}

/** The host of a data provider, as DMS has it (its settings, whichever engine). */
async function serverNameOf(arn: string): Promise<string> {
  const result = await withThrottleRetry('DescribeDataProviders', () => dms().send(new DescribeDataProvidersCommand({
    Filters: [{ Name: 'data-provider-identifier', Values: [arn] }],
  })));
  const provider = (result.DataProviders ?? []).find(d => d.DataProviderArn === arn) ?? result.DataProviders?.[0];
  const settings = Object.values(provider?.Settings ?? {}) as ({ ServerName?: string } | undefined)[];
  const server = settings.find(s => s?.ServerName)?.ServerName;
  if (!server) {
    throw new Error(`The data provider ${arn} has no server name: DMS Schema Conversion's selection rules locate objects by it.`);
  }
  return server;
}

function withServer(rules: SelectionRule[], server: string): SelectionRule[] {
  return rules.map(rule => ({ ...rule, 'object-locator': { 'server-name': server, ...rule['object-locator'] } }));
}

/** An explicit rule for a whole source schema (for SQL Server within the endpoint's database). */
function explicitSchemaRule(id: number, server: string, schema: string, p: SchemaConversionProperties): SelectionRule {
  return {
    'rule-type': 'selection',
    'rule-id': String(id),
    'rule-name': `schema-${id}`,
    'rule-action': 'explicit',
    'object-locator': {
      'server-name': server,
      ...(p.Engine === 'sqlserver' && p.DatabaseName ? { 'database-name': p.DatabaseName } : {}),
      'schema-name': schema,
    },
  };
}

function describeSchema(schema: string, p: SchemaConversionProperties): string {
  return p.Engine === 'sqlserver' && p.DatabaseName ? `'${p.DatabaseName}.${schema}'` : `'${schema}'`;
}
