import * as https from 'https';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { App, Duration, SecretValue, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { mockClient } from 'aws-sdk-client-mock';
import { MigrationPreflight } from '../../lib/checks/migration-preflight';
import { MigrationVerification } from '../../lib/checks/migration-verification';
import { timing } from '../../lib/core/api-calls';
import { DmsMigrationTask } from '../../lib/migration/migration-task';
import { NeonTargetEndpoint } from '../../lib/neon/target-endpoint';
import { ExistingEgressForReplication } from '../../lib/network/existing-egress';
import { SecretsManagerAccess } from '../../lib/network/secrets-manager-access';
import type { ProviderRequest } from '../../lib/provider/handler-types';
import { ReplicationCompute } from '../../lib/replication/serverless';
import { dispatcher } from '../../lib/resource-handlers';
import { MySqlSourceEndpoint } from '../../lib/sources/mysql';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';
import { MigrationType } from '../../lib/task/migration-type';
import { TableMappings, TransformationTarget } from '../../lib/task/table-mappings';
import { mysqlReport } from '../conversion/report-fixture';
import { CloudFormationModel, DeploymentOutcome } from '../helpers/cloudformation-model';
import { comesAfter } from '../helpers/deploy-driver';
import { TemplateJson, secretSuffix } from '../helpers/deployed';
import { BuildPlan, FakeBuild } from '../helpers/fake-aws';
import { selfSignedCertificate } from '../helpers/tls';
import { WaitConditionServer } from '../helpers/wait-condition-server';
import { FakeNeonApi } from '../live/neon-fake-api';

/*
 * The order of a migration's steps under real timings, through CloudFormation's sequence of events
 * (test/helpers/cloudformation-model.ts): every custom resource answered by its real handler, the
 * stack's load waiter polling by itself while CloudFormation waits (test/helpers/load-waiter-model.ts),
 * wait conditions completing on SUCCESS, failing on FAILURE and timing out, custom resources failing
 * after CloudFormation's hour, DMS loading for as long as a test says (test/helpers/dms-model.ts), and
 * the schema steps' builds running for ten minutes against a stand-in of Neon's database that does
 * what each step does (`Target`). The checks' function (preflight, verification) is replaced by a
 * stand-in that records when it ran and what it found: the verification finds differences while rows
 * are missing (a load not finished, a task stopped with its cached changes not applied), as the real
 * comparison would.
 *
 * Every combination of schemaCopy, schemaConversion, preflight, verification, premigration
 * assessment and neonCompute the library accepts — for a full load and a full load with CDC, on a
 * replication instance and on DMS Serverless — is deployed with a full load shorter than maxWait
 * (half of it) and longer (by 45 minutes), for the default maxWait (the lifecycle waits itself) and
 * for one that goes through a wait condition. The combinations it refuses are refused at synth. A
 * first deployment that fails in each way the steps can fail is rolled back, and the next completes.
 */

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const STACK = 'StepOrder';
const secretArn = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-${secretSuffix(name)}`;
const NEON_URI = 'postgresql://app@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require';
const NEON_PROJECT = 'crimson-sun-12345678';
const NEON_ENDPOINT = 'ep-cool-darkness-123456';
/** How long each schema step's build runs. */
const BUILD_SECONDS = 600;
const MINUTE = 60;
const HOUR = 3600;
/** The default maxWait (the lifecycle waits itself) and one that goes through a wait condition. */
const MAX_WAITS: [string, Duration | undefined, number][] = [['default maxWait (50 minutes)', undefined, 50 * MINUTE], ['maxWait 3 hours', Duration.hours(3), 3 * HOUR]];

type Schema = 'none' | 'copy' | 'conversion';

/** One way to build the migration. */
interface Combination {
  readonly schema: Schema;
  readonly source: 'postgres' | 'mysql';
  readonly preflight: boolean;
  readonly verification: boolean;
  readonly assessment: boolean;
  readonly neonCompute: boolean;
  readonly migrationType: MigrationType;
  readonly compute: 'instance' | 'serverless';
  readonly waitForCompletion: boolean;
  readonly maxWait?: Duration;
}

function describe_(c: Combination): string {
  const parts = [
    c.schema === 'none' ? 'no schema step' : c.schema === 'copy' ? 'schemaCopy' : 'schemaConversion',
    ...(c.preflight ? ['preflight'] : []),
    ...(c.verification ? ['verification'] : []),
    ...(c.assessment ? ['assessment'] : []),
    ...(c.neonCompute ? ['neonCompute'] : []),
  ];
  return `${parts.join(' + ')} (${c.source} source, ${c.migrationType}, ${c.compute}${c.waitForCompletion ? '' : ', without waitForCompletion'})`;
}

/** Every combination of the properties, sources, migration types and compute the constructs take. */
function allCombinations(): Combination[] {
  const result: Combination[] = [];
  const flags = [false, true];
  for (const schema of ['none', 'copy', 'conversion'] as const) {
    for (const source of ['postgres', 'mysql'] as const) {
      for (const preflight of flags) {
        for (const verification of flags) {
          for (const assessment of flags) {
            for (const neonCompute of flags) {
              for (const migrationType of [MigrationType.FULL_LOAD, MigrationType.FULL_LOAD_AND_CDC, MigrationType.CDC]) {
                for (const compute of ['instance', 'serverless'] as const) {
                  for (const waitForCompletion of flags) {
                    result.push({ schema, source, preflight, verification, assessment, neonCompute, migrationType, compute, waitForCompletion });
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  return result;
}

/**
 * Why the README and the docs forbid a combination (the synth error says it; when several apply,
 * the first the constructs check): README's safeguards table (schemaCopy and the verification need
 * `waitForCompletion: true`), docs/schema.md (schemaCopy copies a PostgreSQL schema, for full loads;
 * schemaConversion converts MySQL, Oracle and SQL Server schemas, before a full load),
 * docs/step-order.md (what DMS Serverless cannot do: a premigration assessment, a task stopped after
 * its full load for the schema copy's indexes). None: the combination is allowed.
 */
function forbidden(c: Combination): RegExp[] {
  const reasons: RegExp[] = [];
  if (c.schema === 'copy' && c.source !== 'postgres') reasons.push(/schemaCopy copies a PostgreSQL schema/);
  if (c.schema === 'copy' && c.migrationType === MigrationType.CDC) reasons.push(/schemaCopy applies to full-load migrations/);
  if (c.schema === 'copy' && !c.waitForCompletion) reasons.push(/schemaCopy .* set waitForCompletion: true/);
  if (c.schema === 'copy' && c.compute === 'serverless' && c.migrationType === MigrationType.FULL_LOAD_AND_CDC) {
    reasons.push(/schemaCopy with FULL_LOAD_AND_CDC needs the task to stop after the full load/);
  }
  if (c.schema === 'conversion' && c.source === 'postgres') reasons.push(/the source is PostgreSQL, which needs no schema conversion/);
  if (c.schema === 'conversion' && c.migrationType === MigrationType.CDC) reasons.push(/schemaConversion applies the converted schema before a full load/);
  if (c.assessment && c.compute === 'serverless') reasons.push(/premigrationAssessment runs StartReplicationTaskAssessmentRun on a replication task/);
  if (c.verification && !c.waitForCompletion) reasons.push(/MigrationVerification.forTask: .* does not set waitForCompletion/);
  return reasons;
}

/** The combinations deployed: each schema step with its source, waiting for the full load (CDC alone has none). */
function deployedCombinations(): Combination[] {
  return allCombinations().filter(c => c.waitForCompletion && c.migrationType !== MigrationType.CDC && forbidden(c).length === 0
    && (c.schema === 'conversion' ? c.source === 'mysql' : c.source === 'postgres'));
}

const neonTls = selfSignedCertificate();
const neonApi = new FakeNeonApi(neonTls);

function build(c: Combination, app = new App({ context: { 'aws:cdk:disable-asset-staging': true } })): Stack {
  const stack = new Stack(app, STACK, { env: { account: ACCOUNT, region: REGION } });
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: 'vpc-0a1b2c3d4e5f60718',
    vpcCidrBlock: '10.20.0.0/16',
    availabilityZones: [`${REGION}a`, `${REGION}b`],
    privateSubnetIds: ['subnet-0a1b2c3d4e5f60718', 'subnet-1a1b2c3d4e5f60718'],
    privateSubnetRouteTableIds: ['rtb-0a1b2c3d4e5f60718', 'rtb-1a1b2c3d4e5f60718'],
  });
  const network = new ExistingEgressForReplication(stack, 'Network', { vpc, secretsManagerAccess: SecretsManagerAccess.newEndpoint() });
  const secret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'SourceSecret', secretArn('source/app'));
  const source = c.source === 'postgres'
    ? new PostgresSourceEndpoint(stack, 'Source', { secret, databaseName: 'app', engineMajorVersion: 16 })
    : new MySqlSourceEndpoint(stack, 'Source', { secret, databaseName: 'app' });
  const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
  const tableMappings = c.source === 'mysql'
    ? TableMappings.includeSchema('app').convertLowercase(TransformationTarget.TABLE).convertLowercase(TransformationTarget.COLUMN)
    : TableMappings.includeSchema('app');
  const task = new DmsMigrationTask(stack, 'Migration', {
    source,
    target,
    tableMappings,
    migrationType: c.migrationType,
    waitForCompletion: c.waitForCompletion,
    maxWait: c.maxWait,
    ...(c.compute === 'serverless' ? { compute: ReplicationCompute.serverless({ network, maxCapacityUnits: 2 }) } : { network }),
    ...(c.schema === 'copy' ? { schemaCopy: {} } : {}),
    ...(c.schema === 'conversion' ? { schemaConversion: {} } : {}),
    ...(c.assessment ? { premigrationAssessment: {} } : {}),
    ...(c.neonCompute ? {
      neonCompute: {
        projectId: NEON_PROJECT,
        apiKeySecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'NeonApiKey', secretArn('neon/api-key')),
        apiBaseUrl: neonApi.baseUrl,
      },
    } : {}),
  });
  // a MySQL endpoint names no database: the checks read the selected schema's
  const checks = { task, ...(c.source === 'mysql' ? { sourceDatabaseName: 'app' } : {}) };
  if (c.preflight) MigrationPreflight.forTask(stack, 'Preflight', checks);
  if (c.verification) MigrationVerification.forTask(stack, 'Verification', checks);
  return stack;
}

/** What a schema step's build does to Neon's database, in one transaction: all of it or nothing. */
class Target {
  public tables = false;
  public postData = false;
  public indexes = false;
  public constraints = false;
  public sequences = false;
  /** Steps whose build fails (a test's choice). */
  public readonly failing = new Set<string>();
  /** Steps whose build runs longer than ten minutes, by step (a test's choice). */
  public readonly seconds = new Map<string, number>();
  /** Steps whose build waits in CodeBuild's queue first, by step (a test's choice). */
  public readonly queued = new Map<string, number>();

  /** How the build of `steps` runs: ten minutes, failing when the step would (pre finds the tables; a chosen failure). */
  public plan(steps: string): BuildPlan {
    const seconds = this.seconds.get(steps) ?? BUILD_SECONDS;
    const queuedSeconds = this.queued.get(steps) ?? 0;
    const fails = this.failing.has(steps)
      // the pre step refuses tables that exist in Neon already; the steps after the load need them
      || (steps === 'pre' && this.tables) || (steps !== 'pre' && steps !== 'undo' && !this.tables);
    if (fails) return { seconds, queuedSeconds, outcome: 'FAILED' };
    return {
      seconds,
      queuedSeconds,
      outcome: 'SUCCEEDED',
      effect: () => {
        switch (steps) {
          case 'pre': this.tables = true; break;
          case 'post sequences': Object.assign(this, { postData: true, sequences: true }); break;
          case 'indexes': this.indexes = true; break;
          case 'constraints sequences': Object.assign(this, { constraints: true, sequences: true }); break;
          // undo drops what pre created, and everything on it
          case 'undo': Object.assign(this, { tables: false, postData: false, indexes: false, constraints: false, sequences: false }); break;
          default: throw new Error(`unknown schema step ${steps}`);
        }
      },
    };
  }

  public get state(): Record<string, boolean> {
    return { tables: this.tables, postData: this.postData, indexes: this.indexes, constraints: this.constraints, sequences: this.sequences };
  }
}

/** What the checks' stand-in saw when it ran. */
interface CheckRun {
  readonly kind: 'preflight' | 'verification';
  readonly at: number;
  /** The task's (or replication's) status. */
  readonly status: string;
  readonly stopReason?: string;
  /** Whether its full load had completed. */
  readonly loaded: boolean;
  /** Schema steps whose build ran meanwhile. */
  readonly buildsRunning: string[];
  readonly target: Record<string, boolean>;
}

/** A deployment of one template through the model, with the stand-ins it runs against. */
class Deployment {
  public readonly model: CloudFormationModel;
  public readonly target = new Target();
  public readonly checks: CheckRun[] = [];
  /** Rows the verification finds differing when it runs (a test's choice). */
  public differences = 0;
  /** How long the `Custom::FailsMeanwhile` resource runs before it fails (a test's choice). */
  public failsMeanwhile?: number;

  constructor(loadSeconds: number) {
    this.model = new CloudFormationModel({
      env: { stackName: STACK, account: ACCOUNT, region: REGION },
      waitConditions: server,
      handlers: {
        'Custom::NeonMigrationPreflight': (e) => this.check('preflight', e),
        'Custom::NeonMigrationVerification': (e) => this.check('verification', e),
        [FAILS_MEANWHILE]: async (e) => {
          if (e.RequestType === 'Delete') return { PhysicalResourceId: e.PhysicalResourceId };
          await this.model.clock.sleep(this.failsMeanwhile ?? 0);
          const running = this.builds().filter(b => b.status === 'IN_PROGRESS').map(b => b.steps);
          throw new Error(`failed while the ${running.join(', ')} build ran`);
        },
      },
      prepare: (fake) => {
        fake.addSecret('source/app', JSON.stringify({ engine: 'postgres', host: 'source.internal', port: 5432, username: 'dms', password: 'pw' }));
        fake.addSecret('neon/api-key', 'neon-api-key');
        fake.buildRunner = (b) => this.target.plan(b.environment.SCHEMA_STEPS);
        // the replication slot cleanup's look at the source, through its relay
        fake.syncExecution = async () => JSON.stringify({ Reachable: true, Slots: [] });
      },
    });
    Object.assign(this.model.dms.timing, { fullLoadSeconds: loadSeconds });
  }

  public async create(template: TemplateJson, failAt?: string): Promise<DeploymentOutcome> {
    return this.model.create(template, failAt ? { failAt } : {});
  }

  /** The builds of the schema steps started since `since`, each with its steps, start, end and status now. */
  public builds(since = 0): { steps: string; start: number; end: number; status: string }[] {
    const fake = this.model.fake;
    fake.settleBuilds();
    return [...fake.builds.values()].filter(b => b.startedAt >= since).map((b: FakeBuild) => {
      const stopped = b.stoppedAt !== undefined && b.stoppedAt < b.endsAt!;
      const end = stopped ? b.stoppedAt! : b.endsAt!;
      return { steps: b.environment.SCHEMA_STEPS, start: b.startedAt, end, status: fake.now() < end ? 'IN_PROGRESS' : stopped ? 'STOPPED' : b.outcome! };
    });
  }

  /** The task or serverless replication of the stack now (the last one created). */
  public run(): { arn: string; status: string; stopReason?: string } {
    const dms = this.model.dms;
    dms.advance();
    const runs = [...dms.tasks.values(), ...dms.replications.values()];
    return runs[runs.length - 1];
  }

  /** When the full load of `arn` completed, if it did. */
  public loadCompleted(arn: string): number | undefined {
    this.model.dms.advance();
    return this.model.dms.loadsCompleted.find(l => l.arn === arn)?.at;
  }

  /** The successful starts DMS received for `arn` (StartReplicationTask, StartReplication), with their type. */
  public starts(arn: string): { at: number; type: string }[] {
    return this.model.dms.history.filter(h => (h.action === 'StartReplicationTask' || h.action === 'StartReplication') && h.arn === arn && h.outcome === 'ok')
      .map(h => ({ at: h.at, type: h.detail! }));
  }

  /** When CloudFormation completed the creation of the resources of `type`, since `since`. */
  public completed(type: string, since = 0): number[] {
    return this.model.events.filter(e => e.type === type && e.status === 'CREATE_COMPLETE' && e.at >= since).map(e => e.at);
  }

  private async check(kind: 'preflight' | 'verification', event: ProviderRequest): Promise<{ PhysicalResourceId?: string; Data?: Record<string, string> }> {
    if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
    const run = this.run();
    const loaded = this.loadCompleted(run.arn) !== undefined;
    const seen: CheckRun = {
      kind,
      at: Date.now(),
      status: run.status,
      stopReason: run.stopReason,
      loaded,
      buildsRunning: this.builds().filter(b => b.status === 'IN_PROGRESS').map(b => b.steps),
      target: this.target.state,
    };
    this.checks.push(seen);
    if (kind === 'verification') {
      // rows still loading, or changes cached by a task stopped after its load, are rows that differ
      const missing = !loaded || /STOPPED_AFTER_FULL_LOAD/.test(run.stopReason ?? '') && run.status === 'stopped';
      if (missing || this.differences > 0) {
        throw new Error(`1 of 1 table(s) differ: app.orders (${missing ? 'rows missing' : `${this.differences} row(s) differ`})`);
      }
      return { PhysicalResourceId: `verification-${event.LogicalResourceId}`, Data: { Summary: '1 of 1 table(s) match', MismatchedTables: '0' } };
    }
    return { PhysicalResourceId: `preflight-${event.LogicalResourceId}`, Data: { Summary: 'no findings' } };
  }
}

const server = new WaitConditionServer();
const s3 = mockClient(S3Client);
const deployments: Deployment[] = [];

beforeAll(async () => {
  await server.start();
  await neonApi.start();
  // this process trusts both stand-ins: the presigned URLs' and the Neon API's
  https.globalAgent.options.ca = [https.globalAgent.options.ca as string, neonTls.cert];
  neonApi.projects.set(NEON_PROJECT, { plan: 'launch', endpoints: { [NEON_ENDPOINT]: { branch_id: 'br-main-123456', suspend_timeout_seconds: 300 } }, branches: { 'br-main-123456': 1024 } });
  // DMS Schema Conversion's assessment report, as the bucket holds it: no action item
  s3.on(GetObjectCommand).callsFake(async () => ({ Body: { transformToByteArray: async () => new Uint8Array(mysqlReport([])) } as any }));
});

afterAll(async () => {
  s3.restore();
  await neonApi.stop();
  await server.stop();
});

const realSleep = timing.sleep;
beforeEach(() => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  // a handler's backoff between retries takes no time of the test
  timing.sleep = async () => undefined;
});

afterEach(() => {
  deployments.splice(0).forEach(d => d.model.restore());
  timing.sleep = realSleep;
  jest.restoreAllMocks();
});

function deployment(loadSeconds: number): Deployment {
  const d = new Deployment(loadSeconds);
  deployments.push(d);
  return d;
}

/** The outcome with its reasons and what DMS refused, for assertions that show them. */
function summary(d: Deployment, outcome: DeploymentOutcome): Record<string, unknown> {
  return {
    status: outcome.status,
    ...(outcome.failure ? { failure: `${outcome.failure.logicalId}: ${outcome.failure.reason}` } : {}),
    ...(outcome.rollbackFailure ? { rollbackFailure: `${outcome.rollbackFailure.logicalId}: ${outcome.rollbackFailure.reason}` } : {}),
    refusals: d.model.dms.refusals.map(r => `${r.action} ${r.target} (${r.caller}): ${r.fault}: ${r.message}`),
  };
}

const AFTER_LOAD_STEPS = ['post sequences', 'indexes', 'constraints sequences'];

/**
 * The order of a deployment that completed: what must be done before the task starts was done
 * before its first start, the schema steps after the load started after it, the verification ran
 * after all of that, with no build running and the task resumed.
 */
function expectOrder(c: Combination, d: Deployment, since = 0): void {
  const run = d.run();
  const starts = d.starts(run.arn);
  expect(starts.map(s => s.type)[0]).toBe('start-replication');
  const start = starts[0].at;
  const loaded = d.loadCompleted(run.arn);
  if (loaded === undefined) {
    // the deployment stopped waiting at maxWait and completed while the load goes on: nothing waits for its end
    expect([c.schema, c.verification, run.status]).toEqual([c.schema === 'copy' ? 'none' : c.schema, false, 'running']);
  }
  const builds = d.builds(since);
  const checks = d.checks.filter(x => x.at >= since);
  const before = (at: number | undefined, what: string) => expect([what, at !== undefined && at <= start]).toEqual([what, true]);

  // before the start: the schema, the checks of the source and the target, Neon's compute kept awake
  if (c.schema === 'copy') {
    const pre = builds.filter(b => b.steps === 'pre');
    expect(pre.map(b => b.status)).toEqual(['SUCCEEDED']);
    before(pre[0].end, 'the pre-data step ended');
  } else {
    expect(builds).toEqual([]);
  }
  const schemaReady = c.schema === 'copy' ? builds.find(b => b.steps === 'pre')!.end
    : c.schema === 'conversion' ? Math.max(...d.completed('Custom::DmsSchemaConversion', since)) : undefined;
  if (c.schema === 'conversion') {
    expect(d.completed('Custom::DmsSchemaConversion', since)).toHaveLength(2);
    before(schemaReady, 'the converted schema was applied');
  }
  const preflights = checks.filter(x => x.kind === 'preflight');
  expect(preflights).toHaveLength(c.preflight ? 1 : 0);
  if (c.preflight) {
    before(preflights[0].at, 'the preflight ran');
    // the target tables it checks are those the schema step created
    if (schemaReady !== undefined) expect(preflights[0].at).toBeGreaterThanOrEqual(schemaReady);
  }
  if (c.assessment) {
    const assessed = d.completed('Custom::DmsPremigrationAssessment', since);
    expect(assessed).toHaveLength(1);
    before(assessed[0], 'the premigration assessment passed');
    if (schemaReady !== undefined) expect(assessed[0]).toBeGreaterThanOrEqual(schemaReady);
  }
  if (c.neonCompute) {
    before(d.completed('Custom::NeonComputeKeepAlive', since)[0], 'Neon\'s compute was kept awake');
    expect(neonApi.projects.get(NEON_PROJECT)!.endpoints[NEON_ENDPOINT].suspend_timeout_seconds).toBe(-1);
  }

  // after the load: the schema steps, then the task resumed (CDC), then the verification
  const afterLoad = builds.filter(b => AFTER_LOAD_STEPS.includes(b.steps));
  if (c.schema === 'copy') {
    const expected = c.migrationType === MigrationType.FULL_LOAD ? ['post sequences'] : ['indexes'];
    expect(loaded).toBeDefined();
    expect(afterLoad.map(b => [b.steps, b.status])).toEqual(expected.map(s => [s, 'SUCCEEDED']));
    for (const b of afterLoad) expect(b.start).toBeGreaterThanOrEqual(loaded!);
    expect(d.target.state).toEqual({
      tables: true,
      postData: c.migrationType === MigrationType.FULL_LOAD,
      indexes: c.migrationType !== MigrationType.FULL_LOAD,
      constraints: false,
      sequences: c.migrationType === MigrationType.FULL_LOAD,
    });
  }
  const resumes = starts.slice(1);
  if (c.schema === 'copy' && c.migrationType === MigrationType.FULL_LOAD_AND_CDC) {
    // stopped after its full load, resumed once the indexes exist
    expect(resumes.map(s => s.type)).toEqual(['resume-processing']);
    expect(resumes[0].at).toBeGreaterThanOrEqual(afterLoad[0].end);
  } else {
    expect(resumes).toEqual([]);
  }
  const verifications = checks.filter(x => x.kind === 'verification');
  expect(verifications).toHaveLength(c.verification ? 1 : 0);
  if (c.verification) {
    const v = verifications[0];
    expect(loaded).toBeDefined();
    expect(v.at).toBeGreaterThanOrEqual(loaded!);
    for (const b of afterLoad) expect(v.at).toBeGreaterThanOrEqual(b.end);
    expect(v.buildsRunning).toEqual([]);
    for (const r of resumes) expect(v.at).toBeGreaterThan(r.at);
    expect([v.status, v.loaded]).toEqual([c.migrationType === MigrationType.FULL_LOAD ? 'stopped' : 'running', true]);
  }
}

/**
 * Whether `c` deploys with a full load of `loadSeconds` under `maxWaitSeconds`: without the schema
 * copy's steps, which wait for the load themselves, the verification runs when the deployment stops
 * waiting for the load, which is during a load longer than maxWait, and finds its rows missing.
 */
function completes(c: Combination, loadSeconds: number, maxWaitSeconds: number): boolean {
  return !(c.verification && c.schema !== 'copy' && loadSeconds > maxWaitSeconds);
}

/** The logical ids of the resources of `type` whose id starts with `prefix`. */
function resourcesOf(template: TemplateJson, type: string, prefix = ''): string[] {
  return Object.keys(template.Resources).filter(id => template.Resources[id].Type === type && id.startsWith(prefix));
}

describe('combinations the README forbids are refused at synth', () => {
  test('each combination either builds or is refused with the reason the docs give', () => {
    // preflight and neonCompute refuse none of these combinations (they are added after the task): one value each
    const combinations = allCombinations().filter(c => c.preflight && c.neonCompute);
    expect(combinations.filter(c => forbidden(c).length > 0).length).toBeGreaterThan(30);
    for (const c of combinations) {
      let error: Error | undefined;
      try {
        build(c);
      } catch (e) {
        error = e as Error;
      }
      const reasons = forbidden(c);
      expect([describe_(c), error === undefined ? 'built' : reasons.some(r => r.test(error!.message)) ? 'refused' : error.message])
        .toEqual([describe_(c), reasons.length === 0 ? 'built' : 'refused']);
    }
  });
});

describe.each(MAX_WAITS)('%s', (_name, maxWait, maxWaitSeconds) => {
  // half of maxWait, and 45 minutes more than it
  const loads = [Math.round(maxWaitSeconds / 2), maxWaitSeconds + 45 * MINUTE];

  test.each(deployedCombinations().map(c => [describe_(c), { ...c, maxWait }] as const))('%s: a full load shorter and longer than maxWait', async (_n, c) => {
    const template = Template.fromStack(build(c)).toJSON() as TemplateJson;
    // CloudFormation creates the verification only after every wait that stops or holds the task
    for (const verification of resourcesOf(template, 'Custom::NeonMigrationVerification')) {
      const after = comesAfter(template, verification);
      const waits = [...resourcesOf(template, 'AWS::CloudFormation::WaitCondition'), ...resourcesOf(template, 'Custom::DmsTaskLifecycle'),
        ...resourcesOf(template, 'Custom::DmsServerlessLifecycle'), ...resourcesOf(template, 'Custom::NeonSchemaCopy')];
      expect(waits.filter(w => !after.has(w))).toEqual([]);
    }
    for (const loadSeconds of loads) {
      const d = deployment(loadSeconds);
      const outcome = await d.create(template);
      if (completes(c, loadSeconds, maxWaitSeconds)) {
        expect({ ...summary(d, outcome), ...waitedInVain(d, outcome) }).toEqual({ status: 'CREATE_COMPLETE', refusals: [] });
        expectOrder(c, d);
      } else {
        expect({ ...summary(d, outcome), ...waitedInVain(d, outcome) }).toEqual({
          status: 'ROLLBACK_COMPLETE',
          failure: expect.stringMatching(/^Verification\w+: .*rows missing/),
          refusals: [],
        });
      }
      d.model.restore();
    }
  });
});

/**
 * When a wait condition timed out (no combination here should): what the load waiter's executions
 * did and what the handlers logged of their signals, so that the failure shows why.
 */
function waitedInVain(d: Deployment, outcome: DeploymentOutcome): Record<string, unknown> {
  if (!/WaitCondition timed out/.test(outcome.failure?.reason ?? '')) return {};
  const log = jest.mocked(console.log).mock.calls.map(call => String(call[0])).filter(line => /signal|load waiter/i.test(line));
  return {
    waiter: [...d.model.waiter.executions.values()].map(e => `${e.poll.UniqueId}: ${e.status} after ${e.polls} poll(s)${e.error ? ` (${e.error})` : ''}`),
    log: log.slice(-10),
  };
}

/** A stand-in for what CloudFormation may run beside the schema step after the load: it fails after `seconds`. */
const FAILS_MEANWHILE = 'Custom::FailsMeanwhile';

interface FailedFirst {
  /** What goes wrong in the first deployment. */
  readonly setUp: (d: Deployment, template: TemplateJson) => TemplateJson;
  /** The resource whose create fails, and the reason CloudFormation shows. */
  readonly failure: RegExp;
  /** Whether the pre-data step had created its tables (the rollback drops them). */
  readonly preCreated: boolean;
  /** How long the full load takes. @default two hours */
  readonly loadSeconds?: number;
}

const FAILED_FIRST: [string, FailedFirst][] = [
  ['the indexes build fails', {
    setUp: (d, t) => { d.target.failing.add('indexes'); return t; },
    failure: /^MigrationSchemaAfterCompletion\w+: WaitCondition received failed message: 'Schema steps 'indexes' failed \(build .*, FAILED\)/,
    preCreated: true,
  }],
  ['the pre-data build fails', {
    setUp: (d, t) => { d.target.failing.add('pre'); return t; },
    failure: /^MigrationSchemaBefore\w+: .*Schema steps 'pre' failed \(build .*, FAILED\)/,
    preCreated: false,
  }],
  ['the pre-data build outlasts its 45 minutes: CodeBuild times it out within CloudFormation\'s hour', {
    setUp: (d, t) => { d.target.seconds.set('pre', 2 * HOUR); return t; },
    failure: /^MigrationSchemaBefore\w+: .*Schema steps 'pre' failed \(build .*, TIMED_OUT\): Build has timed out/,
    preCreated: false,
  }],
  ['the indexes build waits in CodeBuild\'s queue longer than its 10 minutes', {
    setUp: (d, t) => { d.target.queued.set('indexes', 30 * MINUTE); return t; },
    failure: /^MigrationSchemaAfterCompletion\w+: .*Schema steps 'indexes' did not start: build .* waited in CodeBuild's queue for 10 minutes/,
    preCreated: true,
  }],
  ['the verification finds rows that differ', {
    setUp: (d, t) => { d.differences = 3; return t; },
    failure: /^Verification\w+: .*3 row\(s\) differ/,
    preCreated: true,
  }],
  ['the full load outlasts what the step after it may wait (12 hours less its build, queue and resume)', {
    setUp: (_d, t) => t,
    failure: /^MigrationSchemaAfterCompletion\w+: .*The full load of task .* has not finished .* Raise maxWait/,
    preCreated: true,
    loadSeconds: 12 * HOUR,
  }],
  ['the stack rolls back while the indexes build runs', {
    // CloudFormation creates what does not depend on the step's wait condition meanwhile: one of them fails
    setUp: (d, t) => {
      const after = resourcesOf(t, 'Custom::NeonSchemaCopy').find(id => id.startsWith('MigrationSchemaAfter'))!;
      d.failsMeanwhile = 75 * MINUTE;
      return {
        ...t,
        Resources: {
          ...t.Resources,
          AFailsMeanwhile: { Type: FAILS_MEANWHILE, DependsOn: [after], Properties: { ServiceToken: t.Resources[after].Properties!.ServiceToken } },
        },
      };
    },
    failure: /^AFailsMeanwhile: .*failed while the indexes build ran/,
    preCreated: true,
  }],
];

describe('a first deployment that fails leaves nothing in Neon or DMS that blocks the next, which completes', () => {
  // the live migration of the README: a full load and CDC, every check, longer than maxWait (50 minutes)
  const c: Combination = {
    schema: 'copy',
    source: 'postgres',
    preflight: true,
    verification: true,
    assessment: true,
    neonCompute: true,
    migrationType: MigrationType.FULL_LOAD_AND_CDC,
    compute: 'instance',
    waitForCompletion: true,
  };
  let template: TemplateJson;
  beforeAll(() => {
    template = Template.fromStack(build(c)).toJSON() as TemplateJson;
  });

  test.each(FAILED_FIRST)('%s', async (_name, scenario) => {
    const d = deployment(scenario.loadSeconds ?? 2 * HOUR);
    const first = await d.create(scenario.setUp(d, template));
    expect(summary(d, first)).toEqual({ status: 'ROLLBACK_COMPLETE', failure: expect.stringMatching(scenario.failure), refusals: [] });
    const rollbackBegan = d.model.events.find(e => e.stackStatus === 'ROLLBACK_IN_PROGRESS')!.at;
    // what the load waiter still follows ends with the stack's rollback
    await d.model.wait(HOUR);
    expect([...d.model.waiter.executions.values()].filter(e => e.status === 'RUNNING')).toEqual([]);

    // Neon: what pre created is dropped again, after every other build ended and the task stopped; nothing else was built
    const builds = d.builds();
    expect(builds.filter(b => b.status === 'IN_PROGRESS')).toEqual([]);
    expect(d.target.state).toEqual({ tables: false, postData: false, indexes: false, constraints: false, sequences: false });
    const undo = builds.filter(b => b.steps === 'undo');
    if (scenario.preCreated) {
      expect(undo.map(b => b.status)).toEqual(['SUCCEEDED']);
      for (const b of builds.filter(x => x.steps !== 'undo')) expect(undo[0].start).toBeGreaterThanOrEqual(b.end);
      const lifecycleDeleted = d.model.events.find(e => e.type === 'Custom::DmsTaskLifecycle' && e.status === 'DELETE_COMPLETE')!.at;
      expect(undo[0].start).toBeGreaterThanOrEqual(lifecycleDeleted);
    } else {
      expect(undo).toEqual([]);
    }
    // nothing the rollback did started a build of a schema step (the load waiter stops when the stack rolls back)
    expect(builds.filter(b => b.start >= rollbackBegan && b.steps !== 'undo')).toEqual([]);
    // DMS: the stack's task, endpoints and instance are gone, none refused
    expect([d.model.dms.tasks.size, d.model.dms.endpoints.size, d.model.dms.instances.size]).toEqual([0, 0, 0]);

    // the next deployment (the CDK CLI deletes a stack in ROLLBACK_COMPLETE, then creates it) completes
    Object.assign(d, { differences: 0, failsMeanwhile: undefined });
    d.target.failing.clear();
    d.target.seconds.clear();
    d.target.queued.clear();
    d.model.dms.timing.fullLoadSeconds = 2 * HOUR;
    expect(summary(d, await d.model.delete())).toEqual({ status: 'DELETE_COMPLETE', refusals: [] });
    const since = d.model.clock.now;
    expect(summary(d, await d.create(template))).toEqual({ status: 'CREATE_COMPLETE', refusals: [] });
    expectOrder(c, d, since);
  });
});

describe('CloudFormation\'s time limits, as the model keeps them', () => {
  const c: Combination = {
    schema: 'copy',
    source: 'postgres',
    preflight: false,
    verification: true,
    assessment: false,
    neonCompute: false,
    migrationType: MigrationType.FULL_LOAD,
    compute: 'instance',
    waitForCompletion: true,
  };
  let template: TemplateJson;
  beforeAll(() => {
    template = Template.fromStack(build(c)).toJSON() as TemplateJson;
  });

  test('every wait condition times out within 43200 seconds, the schema steps\' at the longest', () => {
    const timeouts = Object.fromEntries(resourcesOf(template, 'AWS::CloudFormation::WaitCondition').map(id => [id.replace(/[0-9A-F]{16}$/, ''), Number(template.Resources[id].Properties!.Timeout)]));
    expect(timeouts).toEqual({ MigrationSchemaAfterCompletion: 43200 });
  });

  test('the load waiter stops (its function fails): CloudFormation fails the wait condition 43200 seconds after it began, and the rollback leaves nothing', async () => {
    const d = deployment(2 * HOUR);
    const poll = jest.spyOn(dispatcher, 'loadPoll').mockRejectedValue(new Error('Lambda.ServiceException'));
    const outcome = await d.create(template);
    poll.mockRestore();
    const condition = resourcesOf(template, 'AWS::CloudFormation::WaitCondition')[0];
    expect(summary(d, outcome)).toEqual({
      status: 'ROLLBACK_COMPLETE',
      failure: `${condition}: WaitCondition timed out. Received 0 conditions when expecting 1`,
      refusals: [],
    });
    const waited = d.model.events.filter(e => e.logicalId === condition).map(e => [e.status, e.at]);
    expect(waited.map(([status]) => status)).toEqual(['CREATE_IN_PROGRESS', 'CREATE_FAILED']);
    expect(Number(waited[1][1]) - Number(waited[0][1])).toBe(43200 * 1000);
    expect([...d.model.waiter.executions.values()].map(e => e.status)).toEqual(['FAILED']);
    expect(d.target.state).toEqual({ tables: false, postData: false, indexes: false, constraints: false, sequences: false });
  });

  test('without its 45-minute cap, a pre-data build of two hours would keep its custom resource past CloudFormation\'s hour: the model fails it at 3600 seconds', async () => {
    const before = resourcesOf(template, 'Custom::NeonSchemaCopy').find(id => id.startsWith('MigrationSchemaBefore'))!;
    const project = resourcesOf(template, 'AWS::CodeBuild::Project')[0];
    expect(template.Resources[before].Properties!.TimeoutMinutes).toBe('45');
    const { TimeoutMinutes: _cap, ...uncapped } = template.Resources[before].Properties!;
    const d = deployment(HOUR);
    d.target.seconds.set('pre', 2 * HOUR);
    const outcome = await d.create({
      ...template,
      Resources: {
        ...template.Resources,
        [before]: { ...template.Resources[before], Properties: uncapped },
        [project]: { ...template.Resources[project], Properties: { ...template.Resources[project].Properties, TimeoutInMinutes: 180 } },
      },
    });
    expect(summary(d, outcome)).toEqual({
      status: 'ROLLBACK_COMPLETE',
      failure: expect.stringMatching(new RegExp(`^${before}: .*did not receive a response from the custom resource within 3600 seconds`)),
      refusals: [],
    });
  });
});
