import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { assessedMigration } from './assessment-fixture';
import { DeploymentDriver } from '../helpers/deploy-driver';
import { TemplateJson } from '../helpers/deployed';
import { AuthorizedRequest, Decision, IamModel } from '../helpers/iam-simulation';

/*
 * The premigration assessment deployed through its real handler against the recording fake account
 * (test/helpers/fake-aws.ts): the task's lifecycle starts the task only after the assessment passed,
 * and every request — the handler's, the iam:PassRole DMS needs, and DMS's own writes with the
 * results role — is judged by the IAM simulation of the template's policies.
 */

/**
 * The template as CloudFormation deploys it. `Fn::GetAtt <bucket>.Arn` is written as what S3 returns
 * for it (`arn:<partition>:s3:::<bucket name>`), which the template model does not answer itself.
 */
function deployable(template: TemplateJson): TemplateJson {
  const buckets = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::S3::Bucket').map(([id]) => id);
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value === null || typeof value !== 'object') return value;
    const v = value as Record<string, any>;
    if (Array.isArray(v['Fn::GetAtt']) && buckets.includes(v['Fn::GetAtt'][0]) && v['Fn::GetAtt'][1] === 'Arn') {
      return { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', { Ref: v['Fn::GetAtt'][0] }]] };
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rewrite(x)]));
  };
  return rewrite(template) as TemplateJson;
}

async function denied(iam: IamModel, requests: { role: string; request: AuthorizedRequest }[]): Promise<string[]> {
  const decisions: [string, Decision][] = [];
  for (const { role, request } of requests) {
    decisions.push([role, await iam.decide(role, request)]);
  }
  return decisions.filter(([, d]) => !d.allowed).map(([role, d]) => `${role}: ${d.request.action} on ${d.request.resource} (${d.result}) by ${d.request.origin}`);
}

describe('a migration with a premigration assessment, deployed', () => {
  let driver: DeploymentDriver;
  let assessmentId: string;

  beforeAll(async () => {
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const { stack, assessment } = assessedMigration(new App(), undefined, { includeOnly: ['unsupported-data-types-in-source', 'postgres-check-dbowner'] });
    assessmentId = stack.getLogicalId(assessment.resource.node.defaultChild as any);
    driver = new DeploymentDriver(deployable(Template.fromStack(stack).toJSON() as TemplateJson), { env: { stackName: 'S' } });
    await driver.create();
    jest.restoreAllMocks();
  }, 120_000);

  test('the assessment ran before the task started, passed, and names its results folder', () => {
    const calls = driver.fake.calls.map((c) => c.command);
    expect(calls.indexOf('StartReplicationTaskAssessmentRun')).toBeGreaterThanOrEqual(0);
    expect(calls.indexOf('StartReplicationTask')).toBeGreaterThan(calls.lastIndexOf('DescribeReplicationTaskIndividualAssessments'));
    const result = driver.results.get(assessmentId)!;
    expect(result.data).toEqual(expect.objectContaining({ Status: 'passed', Summary: '2 passed, 0 failed, 0 error, 0 warning, 0 cancelled, 0 skipped' }));
    const [run] = [...driver.fake.assessmentRuns.values()];
    expect(run.input).toEqual(expect.objectContaining({
      ResultLocationBucket: driver.deployed.ref(Object.keys(driver.deployed.template.Resources).find((id) => driver.deployed.resource(id).Type === 'AWS::S3::Bucket')!),
      IncludeOnly: ['unsupported-data-types-in-source', 'postgres-check-dbowner'],
      ResultEncryptionMode: 'SSE_S3',
    }));
  });

  test('every request the handler makes, iam:PassRole of the results role included, is allowed by its role', async () => {
    const requests = driver.fake.calls.filter((c) => c.origin.includes('Custom::DmsPremigrationAssessment'))
      .flatMap((c) => c.requests.map((request) => ({ role: c.role, request })));
    expect(requests.map((r) => r.request.action)).toEqual(expect.arrayContaining([
      'dms:DescribeApplicableIndividualAssessments', 'dms:StartReplicationTaskAssessmentRun', 'iam:PassRole',
      'dms:DescribeReplicationTaskAssessmentRuns', 'dms:DescribeReplicationTaskIndividualAssessments',
    ]));
    expect(await denied(driver.iam, requests)).toEqual([]);
  });

  test('the results role may be passed to DMS only (its global or a regional principal), and assessments of a task of another stack may not be started', async () => {
    const start = driver.fake.calls.find((c) => c.command === 'StartReplicationTaskAssessmentRun')!;
    const passRole = start.requests.find((r) => r.action === 'iam:PassRole')!;
    for (const service of ['dms.amazonaws.com', 'dms.us-east-1.amazonaws.com']) {
      expect([service, (await driver.iam.decide(start.role, { ...passRole, context: { 'iam:PassedToService': service } })).result]).toEqual([service, 'Allowed']);
    }
    const toLambda = { ...passRole, context: { 'iam:PassedToService': 'lambda.amazonaws.com' } };
    expect((await driver.iam.decide(start.role, toLambda)).allowed).toBe(false);
    const startRequest = start.requests.find((r) => r.action === 'dms:StartReplicationTaskAssessmentRun')!;
    const foreign = { ...startRequest, resource: startRequest.resource.replace(/task:.*/, 'task:FOREIGN'), context: {} };
    expect((await driver.iam.decide(start.role, foreign)).allowed).toBe(false);
  });

  test('DMS may assume the results role for this account only, and write, read and list the results with it', async () => {
    const [run] = [...driver.fake.assessmentRuns.values()];
    const role = driver.iam.roleWithArn(run.input.ServiceAccessRoleArn);
    const account = driver.deployed.env.account;
    expect((await driver.iam.decideAssumeRole(role, 'dms.amazonaws.com', { 'aws:SourceAccount': account })).result).toBe('Allowed');
    expect((await driver.iam.decideAssumeRole(role, 'dms.amazonaws.com', { 'aws:SourceAccount': '210987654321' })).allowed).toBe(false);
    const bucket = `arn:aws:s3:::${run.input.ResultLocationBucket}`;
    const object = `${bucket}/${run.input.ResultLocationFolder}/${run.input.AssessmentRunName}/summary.json`;
    const origin = 'DMS writes the assessment results';
    const requests = [
      ...['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:PutObjectTagging'].map((action) => ({ action, resource: object, origin })),
      ...['s3:ListBucket', 's3:GetBucketLocation'].map((action) => ({ action, resource: bucket, origin })),
    ];
    expect(await denied(driver.iam, requests.map((request) => ({ role, request })))).toEqual([]);
    // nothing outside this bucket
    expect((await driver.iam.decide(role, { action: 's3:PutObject', resource: 'arn:aws:s3:::another-bucket/x.json' })).allowed).toBe(false);
  });

  test('deleting the stack leaves a finished run and its results alone', async () => {
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    await driver.delete();
    jest.restoreAllMocks();
    expect(driver.fake.calls.filter((c) => c.command === 'CancelReplicationTaskAssessmentRun')).toHaveLength(0);
  });
});
