import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { allDeployments } from './deployments';
import { VARIANTS } from './variants';
import { handler as sourceLoader } from '../../lib/example/source-loader.lambda';
import { FidelityEvent, handler as fidelity } from '../../lib/fidelity/fidelity.lambda';
import { mysqlReport } from '../conversion/report-fixture';
import { AccountModel, DecidedRequest, KIND, Remaining } from '../helpers/account-model';
import { CloudFormationModel, DeploymentOutcome } from '../helpers/cloudformation-model';
import { CustomResourceHandler } from '../helpers/deploy-driver';
import { DeployedTemplate, TemplateJson } from '../helpers/deployed';

/*
 * `cdk destroy` of every deployment the deploy models judge — the bundled PostgreSQL and MySQL
 * examples, the live-migration example with its application stack, every test deployment
 * (test/deploy/deployments.ts) and the deploy variants (test/deploy/variants.ts) — through the
 * CloudFormation model (test/helpers/cloudformation-model.ts), with the account's services behind
 * its native resources (test/helpers/account-model.ts: S3 object versions, KMS's waiting period,
 * the log groups services create, network interfaces, retention policies, names).
 *
 * Each stack is taken as a deployment left it (`adopt`), the custom resources that only talk to AWS
 * created by their real handlers (the DMS task started, the account roles created, the schema
 * conversion's report read from its bucket); the ones that need a peer outside AWS (the Neon API,
 * the source database) are taken as created and answer their delete without running — their
 * deletes are proven against those peers in their own tests (test/network/ip-allow.handler.test.ts,
 * test/live/neon-compute.handler.test.ts, test/live/slot-cleanup.handler.test.ts). Every bucket holds
 * object versions and a delete marker, as the migration's reports leave them. Then the stacks are
 * deleted, the dependent stack first (as `cdk destroy --all`), and what stays in the account is
 * compared with docs/teardown.md.
 */

const ROOT = path.join(__dirname, '..', '..');

const NEON_URL = 'postgresql://neondb_owner:npg_AbCd1234EfGh@ep-cool-name-123456.us-east-2.aws.neon.tech/neondb?sslmode=require';

/** The secrets the deployments import: they exist before the deployment. */
const IMPORTED_SECRETS: Record<string, string> = {
  'neon/dms-example/connection': NEON_URL,
  'neon/existing-vpc/connection-string': NEON_URL,
  'neon/serverless/password': 'npg_AbCd1234EfGh',
  'neon/password': 'npg_AbCd1234EfGh',
  'neon/connection': NEON_URL,
  'neon/api-key': 'napi_abcdefgh',
  'neon/live-example/connection': NEON_URL,
  'neon/live-example/api-key': 'napi_abcdefgh',
};

/** Custom resources created by their real handlers: they talk to AWS only. */
const CREATED_BY_HANDLERS = [
  'Custom::DmsAccountRoles', 'Custom::DmsTaskStopper', 'Custom::DmsServerlessLifecycle', 'Custom::DmsTaskLifecycle', 'Custom::NeonDmsSecretArns',
  'Custom::NeonDmsCredentials', 'Custom::DmsConnectionTest', 'Custom::NeonSchemaCopy', 'Custom::DmsSchemaConversion', 'Custom::DmsPremigrationAssessment',
  'Custom::NeonDistributedVerification',
];

/** Custom resources whose handlers need a peer outside AWS (the Neon API, the source database), or are aws-cdk-lib's own. */
const NOT_RUN = ['Custom::VpcRestrictDefaultSG', 'Custom::NeonIpAllow', 'Custom::NeonComputeKeepAlive', 'Custom::NeonReplicationSlotCleanup'];

/** The examples docs/teardown.md describes, by the deployment's name. */
const EXAMPLES: Record<string, string> = { 'example': 'PostgreSQL', 'MySQL example': 'MySQL' };

interface Deployed {
  readonly name: string;
  readonly stacks: { readonly stack: Stack; readonly template: TemplateJson }[];
}

function deployments(): Deployed[] {
  const variants = VARIANTS.map(build => {
    const { name, stack } = build(new App());
    return { name: `variant: ${name}`, stacks: [{ stack, template: Template.fromStack(stack).toJSON() as TemplateJson }] };
  });
  return [
    ...allDeployments().map(d => ({ name: d.name, stacks: [...d.neighbours, { stack: d.stack, template: d.template }] })),
    ...variants,
  ];
}

/**
 * A custom resource whose provider runs a function with inline code (the MySQL example's sample
 * data): that code, as Lambda runs it; `bundled` for the others.
 */
function inlineOr(view: () => DeployedTemplate, bundled: CustomResourceHandler): CustomResourceHandler {
  return async (event) => {
    const d = view();
    const functionWithArn = (arn: string) => d.logicalIds('AWS::Lambda::Function').find(id => d.getAtt(id, 'Arn') === arn)!;
    const framework = functionWithArn(event.ResourceProperties.ServiceToken);
    const user = d.properties(framework).Environment?.Variables?.USER_ON_EVENT_FUNCTION_ARN;
    const code = d.properties(user ? functionWithArn(user) : framework).Code?.ZipFile;
    if (code === undefined) return bundled(event);
    const module = { exports: {} as Record<string, any> };
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    new Function('require', 'exports', 'module', code)(require, module.exports, module);
    return module.exports.handler(event);
  };
}

interface Teardown {
  readonly outcomes: { readonly stack: string; readonly outcome: DeploymentOutcome; readonly trace: string[] }[];
  readonly refusals: string[];
  /** DMS resources left after the delete. */
  readonly dmsLeft: string[];
  readonly remaining: Remaining[];
  readonly unreadable: string[];
  readonly requests: DecidedRequest[];
  /** Object versions and delete markers in each bucket before the delete, by bucket. */
  readonly objects: Record<string, number>;
  /** The buckets left after the delete. */
  readonly buckets: string[];
  /** Resources a second deployment of the same stacks could not create, their names being taken. */
  readonly takenNames: string[];
}

/** Deploys the stacks (adopted), then deletes them, the dependent stack first. */
async function destroy(deployment: Deployed, change: (template: TemplateJson) => TemplateJson = t => t): Promise<Teardown> {
  const account = new AccountModel();
  // DMS Schema Conversion writes the assessment report it exports into the project's bucket
  account.serviceWrites = (_bucket, key) => (/^migration-project\/.*\.zip$/.test(key) ? mysqlReport([]) : undefined);
  const models: CloudFormationModel[] = [];
  try {
    const objects: Record<string, number> = {};
    for (const { stack, template } of deployment.stacks) {
      const model: CloudFormationModel = new CloudFormationModel({
        env: { stackName: stack.stackName },
        account,
        neighbours: models.map(m => m.deployed()),
        noop: NOT_RUN,
        handlers: {
          'Custom::S3AutoDeleteObjects': account.autoDeleteObjects(() => model.deployed()),
          'Custom::NeonMigrationPreflight': (e) => fidelity(e as unknown as FidelityEvent),
          'Custom::NeonMigrationVerification': (e) => fidelity(e as unknown as FidelityEvent),
          'Custom::SampleData': inlineOr(() => model.deployed(), (e) => sourceLoader(e as unknown as Parameters<typeof sourceLoader>[0])),
        },
        prepare: (fake) => {
          for (const [name, value] of Object.entries(IMPORTED_SECRETS)) fake.addSecret(name, value);
        },
      });
      models.push(model);
      await model.adopt(change(template), { run: CREATED_BY_HANDLERS });
    }
    // reports written twice, then deleted: two versions and a delete marker in a versioned bucket
    for (const bucket of account.bucketNames()) {
      account.putObject(bucket, 'reports/report.json');
      account.putObject(bucket, 'reports/report.json');
      account.deleteObject(bucket, 'reports/report.json');
      objects[bucket] = account.objectVersions(bucket);
    }
    const outcomes: Teardown['outcomes'] = [];
    for (let i = models.length - 1; i >= 0; i--) {
      const outcome = await models[i].delete();
      const trace = outcome.status === 'DELETE_COMPLETE' ? [] : models[i].trace().slice(-3);
      outcomes.push({ stack: deployment.stacks[i].stack.stackName, outcome, trace });
    }
    return {
      outcomes,
      refusals: models.flatMap(m => m.dms.refusals.map(r => `${r.action} ${r.target}: ${r.fault}`)),
      dmsLeft: models.flatMap(m => [...m.dms.tasks.keys(), ...m.dms.replications.keys(), ...m.dms.endpoints.keys(), ...m.dms.instances.keys()]),
      remaining: account.remaining(),
      unreadable: account.unreadable(),
      requests: account.requests,
      objects,
      buckets: account.bucketNames(),
      takenNames: deployment.stacks.flatMap(({ stack, template }) =>
        account.takenNames(new DeployedTemplate(template, { stackName: stack.stackName }))),
    };
  } finally {
    models.forEach(m => m.restore());
    account.restore();
  }
}

/** docs/teardown.md's table of what stays: each kind, with the examples it stays after. */
function documented(): { kind: string; examples: string[] }[] {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'teardown.md'), 'utf8');
  const section = doc.split(/^## /m).find(s => s.startsWith('What stays'))!;
  const rows = section.split('\n').map(line => /^\| `([^`]+)` \| [^|]+ \| ([^|]+) \|/.exec(line)).filter((m): m is RegExpExecArray => m !== null);
  return rows.map(m => ({ kind: m[1], examples: m[2].trim() === '—' ? [] : m[2].split(',').map(e => e.trim()) }));
}

/** docs/teardown.md's names that block a new deployment of the same stack, as patterns. */
function documentedBlockers(): RegExp[] {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'teardown.md'), 'utf8');
  const section = doc.split(/^## /m).find(s => s.startsWith('Deploying the same stack again'))!;
  return [...section.matchAll(/^- `([^`]+)`/gm)].map(m => new RegExp(`^${m[1].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&').replace(/<[^>]+>/g, '[^/]+')}$`));
}

const DEPLOYMENTS = deployments();
const results = new Map<string, Teardown>();

beforeAll(async () => {
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    for (const deployment of DEPLOYMENTS) results.set(deployment.name, await destroy(deployment));
  } finally {
    log.mockRestore();
  }
}, 300_000);

describe.each(DEPLOYMENTS.map(d => [d.name] as const))('%s', (name) => {
  test('cdk destroy completes: nothing refused, every bucket removed with the stack emptied first', () => {
    const teardown = results.get(name)!;
    expect(teardown.outcomes.map(o => ({ stack: o.stack, status: o.outcome.status, failure: o.outcome.rollbackFailure, trace: o.trace })))
      .toEqual(teardown.outcomes.map(o => ({ stack: o.stack, status: 'DELETE_COMPLETE', failure: undefined, trace: [] })));
    expect(teardown.refusals).toEqual([]);
    expect(teardown.dmsLeft).toEqual([]);
    expect(teardown.requests.filter(r => !r.allowed)).toEqual([]);
    // every bucket held object versions; the ones gone were emptied, the ones left are retained
    expect(Object.values(teardown.objects).every(n => n >= 3)).toBe(true);
    const kept = teardown.remaining.filter(r => r.kind === KIND.retainedBucket).map(r => r.name);
    expect(teardown.buckets.sort()).toEqual(kept.sort());
    // nothing kept is encrypted with a key KMS is about to delete
    expect(teardown.unreadable).toEqual([]);
  });
});

test('what stays after every deployment is what docs/teardown.md lists, kind by kind', () => {
  const kinds = new Set([...results.values()].flatMap(t => t.remaining.map(r => r.kind)));
  expect([...kinds].sort()).toEqual(documented().map(d => d.kind).sort());
});

test.each(Object.entries(EXAMPLES))('what stays after cdk destroy of the %s: the kinds docs/teardown.md marks for it', (name, example) => {
  const kinds = new Set(results.get(name)!.remaining.map(r => r.kind));
  expect([...kinds].sort()).toEqual(documented().filter(d => d.examples.includes(example)).map(d => d.kind).sort());
});

test('keys removed with a stack wait 7 to 30 days in KMS; none is deleted at once', () => {
  const pending = [...results.values()].flatMap(t => t.remaining.filter(r => r.kind === KIND.pendingKey));
  expect(pending.length).toBeGreaterThan(5);
  expect(new Set(pending.map(k => k.pendingWindowInDays))).toEqual(new Set([7, 30]));
});

test('the MySQL example\'s Schema Conversion bucket: its versions and delete markers are removed by aws-cdk-lib\'s handler, then the bucket', () => {
  const teardown = results.get('MySQL example')!;
  const bucket = Object.keys(teardown.objects).find(b => /migrationschemaconversionbucket/.test(b))!;
  // the report DMS Schema Conversion exported, and the migration's reports
  expect(teardown.objects[bucket]).toBe(4);
  expect(teardown.buckets).not.toContain(bucket);
  const deletes = teardown.requests.filter(r => r.action === 's3:DeleteObjectVersion' && r.resource.startsWith(`arn:aws:s3:::${bucket}/`));
  expect(deletes.map(r => r.allowed)).toEqual([true, true, true, true]);
});

test('a versioned bucket removed with the stack but never emptied: S3 refuses to delete it and cdk destroy fails', async () => {
  const mysql = DEPLOYMENTS.find(d => d.name === 'MySQL example')!;
  // the example's template without aws-cdk-lib's custom resource that empties the bucket
  const withoutEmptying = (t: TemplateJson): TemplateJson => ({
    ...t,
    Resources: Object.fromEntries(Object.entries(t.Resources).filter(([, r]) => r.Type !== 'Custom::S3AutoDeleteObjects')),
  });
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  const teardown = await destroy(mysql, withoutEmptying);
  log.mockRestore();
  expect(teardown.outcomes.map(o => o.outcome.status)).toEqual(['DELETE_FAILED']);
  expect(teardown.outcomes[0].outcome.rollbackFailure).toEqual({
    logicalId: expect.stringMatching(/^MigrationSchemaConversionBucket/),
    reason: expect.stringMatching(/^BucketNotEmpty: The bucket you tried to delete is not empty\. You must delete all versions in the bucket\./),
  });
});

test('deploying the same stack again after cdk destroy: the retained resources whose names are fixed block it, as docs/teardown.md says', () => {
  const blockers = documentedBlockers();
  const taken = [...results.values()].flatMap(t => t.takenNames);
  expect(taken.length).toBeGreaterThan(0);
  const names = taken.map(t => /\(AWS::Logs::LogGroup (.+)\)$/.exec(t)?.[1] ?? t);
  expect(names.filter(n => !blockers.some(b => b.test(n)))).toEqual([]);
  expect(blockers.filter(b => !names.some(n => b.test(n)))).toEqual([]);
  // the examples
  expect(results.get('example')!.takenNames).toEqual([expect.stringMatching(/^MigrationSchemaLogs.*\/cdk-neon-migration\/Example-Migration-Schema-[0-9A-F]{8}\/builds\)$/)]);
  expect(results.get('MySQL example')!.takenNames).toEqual([]);
});
