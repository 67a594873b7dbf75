import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Stack } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import { CONCRETE_ENV, VARIANT_NAMES, VARIANTS } from './variants';

/*
 * AWS's own validators: the AWS Control Tower proactive controls (CloudFormation Guard rules, run by
 * the cfn-guard binary @cdklabs/cdk-validator-cfnguard ships) over the synthesized templates. The
 * DMS controls must pass with no exception. Findings of other services' controls are listed below,
 * each with the reason the deployment accepts it; a finding not listed, or a listed one that no
 * longer occurs, fails the test.
 */

interface Finding {
  readonly control: string;
  readonly resource: string;
}

/** Control Tower findings the variants accept, by control and resource (logical id without hash). */
const ACCEPTED: { control: string; resources: RegExp; reason: string }[] = [
  {
    control: 'CT.CLOUDWATCH.PR.3',
    resources: /^(NeonDmsMigrationProviderHandlerLogs|NeonDmsLoadWaiterLogs|NeonDmsFidelityProviderLogs|NetworkFlowLogGroup|ExistingVpcFlowLogLogGroup)$/,
    reason: 'CloudWatch Logs encrypts every log group at rest; these hold resource ids, states and flow records, never a secret value. '
      + 'NatEgressForReplication takes flowLogEncryptionKey for a customer managed key.',
  },
  {
    control: 'CT.LAMBDA.PR.3',
    resources: /^(NeonDmsMigrationProvider(OnEvent|IsComplete|frameworkonEvent|frameworkisComplete|frameworkonTimeout)|NeonDmsFidelityProviderframeworkonEvent|CustomVpcRestrictDefaultSGCustomResourceProviderHandler|SampleDataProviderframeworkonEvent)$/,
    reason: 'These functions call only AWS control-plane APIs, the Neon API and the presigned URLs of CloudFormation, from outside the VPC; '
      + 'the functions that connect to databases (fidelity checks, the example\'s loader) run in the VPC.',
  },
  {
    control: 'CT.STEPFUNCTIONS.PR.1',
    resources: /^NeonDmsMigrationProviderwaiterstatemachine$/,
    reason: 'aws-cdk-lib\'s Provider framework waiter (it only polls isComplete; its failures reach CloudFormation); logging it needs aws-cdk-lib newer than the supported minimum.',
  },
  {
    control: 'CT.STEPFUNCTIONS.PR.2',
    resources: /^NeonDmsMigrationProviderwaiterstatemachine$/,
    reason: 'aws-cdk-lib\'s Provider framework waiter offers no X-Ray option; the library\'s own load waiter is traced.',
  },
  {
    control: 'CT.S3.PR.(2|4|9|10)',
    resources: /^VerificationDistributedBucket$/,
    reason: 'The distributed verification\'s bucket holds unit lists and results its own workers and state machine write and read within one run '
      + '(table names, counts, at most maxDifferences keys per table), expiring after 30 days: no access log, event notification or object lock adds '
      + 'to that; S3-managed encryption applies (the Distributed Map\'s result writer would need the key too).',
  },
  {
    control: 'CT.RDS.PR.(1|2|7|8|13|14|20|22|30)',
    resources: /^(Source|Database)$/,
    reason: 'The source database of the example and of the test variants: single-AZ, default port and user, backups for a day, the AWS managed '
      + 'storage key, no deletion protection, so that it costs little and `cdk destroy` removes it. A real migration brings its own database.',
  },
];

function accepted(finding: Finding): boolean {
  return ACCEPTED.some(a => new RegExp(`^${a.control}$`).test(finding.control) && a.resources.test(finding.resource));
}

/** Writes a stack's template where cfn-guard reads it. */
function templateFile(build: (app: App) => Stack): string {
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'guard-')) });
  const stack = build(app);
  const assembly = app.synth();
  return path.join(assembly.directory, assembly.getStackByName(stack.stackName).templateFile);
}

/**
 * The findings of each template, by template file: one cfn-guard run over all of them (each run
 * loads every Control Tower rule; the templates are evaluated one by one all the same).
 */
function findingsByTemplate(files: string[]): Map<string, Finding[]> {
  const report = new CfnGuardValidator().validate({ templatePaths: files });
  const byFile = new Map<string, Finding[]>(files.map(f => [f, []]));
  for (const v of report.violations) {
    const control = /\[(CT\.[A-Z0-9]+\.PR\.\d+)\]/.exec(v.description)?.[1] ?? v.ruleName;
    if (v.violatingResources.length === 0) {
      // a finding about no resource in particular: it counts against every template
      for (const found of byFile.values()) found.push({ control, resource: '(template)' });
    }
    for (const r of v.violatingResources) {
      const found = byFile.get(r.templatePath);
      if (!found) throw new Error(`cfn-guard reported a template it was not given: ${r.templatePath}`);
      found.push({ control, resource: r.resourceLogicalId ? r.resourceLogicalId.replace(/[0-9A-F]{8}$/, '') : '(template)' });
    }
  }
  return byFile;
}

const ENVIRONMENTS = [['environment-agnostic', undefined], ['in a concrete account and Region', CONCRETE_ENV]] as const;
const BAD = 'a public replication instance and an endpoint without SSL';

/** Every variant in both environments, and the bad stack, judged in one run. */
let judged: Map<string, Finding[]>;
const fileOf = new Map<string, string>();
beforeAll(() => {
  for (const [label, env] of ENVIRONMENTS) {
    for (const build of VARIANTS) {
      let name = '';
      const file = templateFile(app => {
        const variant = build(app, env);
        name = variant.name;
        return variant.stack;
      });
      fileOf.set(`${label}/${name}`, file);
    }
  }
  fileOf.set(BAD, templateFile(app => {
    const stack = new Stack(app, 'Bad');
    new dms.CfnReplicationInstance(stack, 'Instance', { replicationInstanceClass: 'dms.t3.medium' });
    new dms.CfnEndpoint(stack, 'Endpoint', { endpointType: 'target', engineName: 'postgres', sslMode: 'none' });
    return stack;
  }));
  judged = findingsByTemplate([...fileOf.values()]);
}, 300_000);

function findingsOf(key: string): Finding[] {
  const file = fileOf.get(key);
  if (!file) throw new Error(`no template for ${key}`);
  return judged.get(file)!;
}

describe.each(ENVIRONMENTS)('%s', (label) => {
  test.each(VARIANT_NAMES)('%s: the DMS controls pass, every other finding is accepted with a reason', (name) => {
    const all = findingsOf(`${label}/${name}`);
    expect(all.filter(f => f.control.startsWith('CT.DMS.'))).toEqual([]);
    expect(all.filter(f => !accepted(f))).toEqual([]);
  });
});

test('every accepted finding still occurs somewhere (no stale acceptance)', () => {
  const seen = VARIANT_NAMES.flatMap(name => findingsOf(`${ENVIRONMENTS[0][0]}/${name}`));
  for (const acceptance of ACCEPTED) {
    expect([acceptance.control, seen.some(f => new RegExp(`^${acceptance.control}$`).test(f.control) && acceptance.resources.test(f.resource))])
      .toEqual([acceptance.control, true]);
    expect(acceptance.reason.length).toBeGreaterThan(40);
  }
});

test('the DMS controls catch a public replication instance and an endpoint without SSL', () => {
  const controls = findingsOf(BAD).map(f => `${f.control} ${f.resource}`);
  expect(controls).toEqual(expect.arrayContaining(['CT.DMS.PR.1 Instance', 'CT.DMS.PR.2 Endpoint']));
});
