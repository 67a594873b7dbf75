import { App, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { assessedMigration } from './assessment-fixture';
import { PremigrationAssessment, PremigrationAssessmentOptions } from '../../lib/live/assessment';
import { DmsMigrationTask, DmsMigrationTaskProps } from '../../lib/migration';
import { NeonTargetEndpoint } from '../../lib/neon/target-endpoint';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as any);
}

describe('PremigrationAssessment', () => {
  test('a custom resource of the shared provider naming the task, its hash, the results bucket and DMS\'s role', () => {
    const { stack, migration, assessment } = assessedMigration(undefined, undefined, { acknowledgedAssessments: ['postgres-check-dbowner'] });
    const template = Template.fromStack(stack);
    const resources = template.toJSON().Resources;
    const props = resources[logicalId(stack, assessment.resource)].Properties;
    expect(props).toEqual({
      ServiceToken: expect.anything(),
      TaskArn: { Ref: logicalId(stack, migration) },
      TaskIdentifier: Stack.of(stack).resolve(migration.taskIdentifier),
      TaskPropertiesHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      ServiceAccessRoleArn: { 'Fn::GetAtt': [logicalId(stack, assessment.results.role), 'Arn'] },
      ResultLocationBucket: { Ref: logicalId(stack, assessment.results.bucket) },
      AcknowledgedAssessments: ['postgres-check-dbowner'],
      FailOnWarning: 'false',
      MaxWaitSeconds: '3000',
    });
    expect(resources[logicalId(stack, assessment.resource)].Type).toBe('Custom::DmsPremigrationAssessment');
    // the task carries the stack's tag the start permission is conditioned on
    template.hasResourceProperties('AWS::DMS::ReplicationTask', {
      Tags: Match.arrayWith([{ Key: 'cdk-neon-migration:lifecycle', Value: { Ref: 'AWS::StackId' } }]),
    });
  });

  test('ordered: after the task exists, the role, the bucket and the permission to pass the role; before the task starts', () => {
    const { stack, migration, assessment } = assessedMigration();
    const resources = Template.fromStack(stack).toJSON().Resources;
    const own = resources[logicalId(stack, assessment.resource)];
    expect(own.DependsOn).toEqual(expect.arrayContaining([
      logicalId(stack, assessment.results.role),
      logicalId(stack, assessment.results.bucket),
      stack.getLogicalId(assessment.results.passRolePolicy.node.defaultChild as any),
    ]));
    expect(resources[logicalId(stack, migration.lifecycle.resource)].DependsOn).toContain(logicalId(stack, assessment.resource));
  });

  test('a change of the task\'s settings or mappings changes the hash (a new run); a change of the acknowledgements does not', () => {
    const hash = (options: PremigrationAssessmentOptions, taskProps: Partial<DmsMigrationTaskProps> = {}) => {
      const { stack, assessment } = assessedMigration(undefined, undefined, options, taskProps);
      return Template.fromStack(stack).toJSON().Resources[logicalId(stack, assessment.resource)].Properties.TaskPropertiesHash;
    };
    const base = hash({});
    expect(hash({ acknowledgedAssessments: ['postgres-check-dbowner'], failOnWarning: true })).toBe(base);
    expect(hash({}, { schemaName: 'sales' })).not.toBe(base);
  });

  test('the results bucket: encrypted, public access blocked, TLS only, versioned, expiring after the retention', () => {
    const { stack } = assessedMigration(undefined, undefined, { resultsRetention: Duration.days(30) });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::S3::Bucket', {
      Properties: {
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        VersioningConfiguration: { Status: 'Enabled' },
        LifecycleConfiguration: {
          Rules: [Match.objectLike({
            ExpirationInDays: 30,
            NoncurrentVersionExpiration: { NoncurrentDays: 30 },
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          })],
        },
      },
      DeletionPolicy: 'Retain',
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  test('DMS\'s role: trusted by dms.amazonaws.com for this account only, with the S3 permissions DMS documents on this bucket only', () => {
    const { stack, assessment } = assessedMigration();
    const role = Template.fromStack(stack).toJSON().Resources[logicalId(stack, assessment.results.role)].Properties;
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([{
      Action: 'sts:AssumeRole',
      Effect: 'Allow',
      Principal: { Service: 'dms.amazonaws.com' },
      Condition: { StringEqualsIfExists: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
    }]);
    const bucket = logicalId(stack, assessment.results.bucket);
    expect(role.Policies[0].PolicyDocument.Statement).toEqual([
      { Action: ['s3:PutObject', 's3:DeleteObject', 's3:GetObject', 's3:PutObjectTagging'], Effect: 'Allow', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/*']] } },
      { Action: ['s3:ListBucket', 's3:GetBucketLocation'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [bucket, 'Arn'] } },
    ]);
  });

  test('the shared provider may pass that role to DMS only, start assessments of this stack\'s tasks only, and read runs', () => {
    const { stack, assessment } = assessedMigration();
    const template = Template.fromStack(stack);
    const passRole = template.toJSON().Resources[stack.getLogicalId(assessment.results.passRolePolicy.node.defaultChild as any)].Properties;
    const roleArn = { 'Fn::GetAtt': [logicalId(stack, assessment.results.role), 'Arn'] };
    expect(passRole.PolicyDocument.Statement).toEqual([
      { Action: 'iam:GetRole', Effect: 'Allow', Resource: roleArn },
      {
        Action: 'iam:PassRole',
        Effect: 'Allow',
        Resource: roleArn,
        Condition: { StringLike: { 'iam:PassedToService': ['dms.amazonaws.com', 'dms.*.amazonaws.com'] } },
      },
    ]);
    const statements = Object.values<any>(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual(expect.objectContaining({
      Action: 'dms:StartReplicationTaskAssessmentRun',
      Condition: { StringEquals: { 'dms:task-tag/cdk-neon-migration:lifecycle': { Ref: 'AWS::StackId' } } },
    }));
    expect(statements).toContainEqual(expect.objectContaining({
      Action: 'dms:CancelReplicationTaskAssessmentRun',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':dms:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':assessment-run:*']] },
    }));
  });

  test('two migrations of a stack share one results bucket and role; a second one asking for another store is refused', () => {
    const { stack, migration, assessment } = assessedMigration();
    const second = new DmsMigrationTask(stack, 'Second', {
      source: stack.node.findChild('Source') as PostgresSourceEndpoint,
      target: NeonTargetEndpoint.fromEndpointArn(stack, 'Neon2', 'arn:aws:dms:us-east-1:123456789012:endpoint:NEON2'),
      replicationInstance: migration.replicationInstance,
      schemaName: 'sales',
      testConnections: false,
    });
    const other = new PremigrationAssessment(second, 'Assessment', { replicationTask: second.replicationTask! });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.resourceCountIs('Custom::DmsPremigrationAssessment', 2);
    expect(other.results).toBe(assessment.results);
    expect(() => new PremigrationAssessment(second, 'Other', { replicationTask: second.replicationTask!, resultsRetention: Duration.days(7) }))
      .toThrow(/share one results bucket, made by the first of them; resultsRetention differ/);
  });

  test('a customer managed key encrypts the results, and DMS\'s role may use it', () => {
    const keyArn = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const key = kms.Key.fromKeyArn(new Stack(new App(), 'Keys'), 'Key', keyArn);
    const { stack, assessment } = assessedMigration(undefined, undefined, { resultsEncryptionKey: key });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn } }] },
    });
    const resources = template.toJSON().Resources;
    expect(resources[logicalId(stack, assessment.results.role)].Properties.Policies[0].PolicyDocument.Statement[2])
      .toEqual({ Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Effect: 'Allow', Resource: keyArn });
    expect(resources[logicalId(stack, assessment.resource)].Properties.ResultKmsKeyArn).toBe(keyArn);
  });

  test('RemovalPolicy.DESTROY empties and deletes the bucket', () => {
    const { stack } = assessedMigration(undefined, undefined, { resultsRemovalPolicy: RemovalPolicy.DESTROY });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 1);
  });

  test.each<[string, PremigrationAssessmentOptions, RegExp]>([
    ['includeOnly and exclude together', { includeOnly: ['a'], exclude: ['b'] }, /includeOnly and exclude are alternatives \(DMS takes one of them\)/],
    ['an empty includeOnly', { includeOnly: [] }, /includeOnly is empty, which would run nothing/],
    ['a name that is no API name', { acknowledgedAssessments: ['Tables without primary key'] }, /acknowledgedAssessments holds 'Tables without primary key', which is not an assessment's API name/],
    ['maxWait over 55 minutes', { maxWait: Duration.hours(1) }, /maxWait is 1 hour; use 5 to 55 minutes: the deployment waits for the run in a custom resource, which must answer within an hour/],
    ['maxWait under 5 minutes', { maxWait: Duration.minutes(2) }, /maxWait is 2 minutes; use 5 to 55 minutes/],
    ['a retention under a day', { resultsRetention: Duration.hours(6) }, /resultsRetention is 6 hours; keep the results at least one day/],
  ])('refused at synth: %s', (_name, options, message) => {
    expect(() => assessedMigration(undefined, undefined, options)).toThrow(message);
  });

  test('token names and durations are left to deploy time', () => {
    const name = Token.asString({ Ref: 'AssessmentName' });
    const { stack, assessment } = assessedMigration(undefined, undefined, { acknowledgedAssessments: [name], maxWait: Duration.seconds(Token.asNumber({ Ref: 'Wait' })) });
    const props = Template.fromStack(stack).toJSON().Resources[logicalId(stack, assessment.resource)].Properties;
    expect(props.AcknowledgedAssessments).toEqual([{ Ref: 'AssessmentName' }]);
    expect(props.MaxWaitSeconds).toEqual({ Ref: 'Wait' });
  });

  test('valid CloudFormation, cdk-nag clean', () => {
    expectValidCloudFormation(assessedMigration().stack);
    expectNagClean((app, env) => assessedMigration(app, env).stack);
    expectNagClean((app, env) => assessedMigration(app, env, { resultsRemovalPolicy: RemovalPolicy.DESTROY }).stack);
  });
});
