import { DeployedTemplate, ResourceJson, TemplateJson, secretSuffix } from './deployed';
import { AuthorizedRequest, Decision, IamModel, RequestPrincipal, principalName } from './iam-simulation';
import { PREFLIGHT_TYPE, VERIFICATION_TYPE } from '../../lib/fidelity/kinds';
import { RESOURCE_KINDS } from '../../lib/resource-kinds';

/**
 * The requests AWS services make on a stack's behalf against resources that carry a policy — a KMS
 * key policy, an S3 bucket policy, an SNS topic policy, a secret (through the role a service assumes
 * to read it), a role's trust policy — each derived from a synthesized template, as documented by
 * the service (`source`), with the principal the service acts as and the request context it sends.
 * `IamModel.decideFor` decides each one with the resource's policy, and with the identity policies of
 * the role when a service acts through one.
 *
 * The catalogue also names the places in a template where such a resource is handed to a service
 * (`sites`: a property of one resource type referring to a key, bucket, topic, secret or encrypted
 * log group). `serviceUseSites` finds every such place in a template; a place no entry claims and no
 * entry of `NOT_SERVICE_USES` explains is a service use nobody modelled, which the coverage test
 * reports — a new part is covered by registering its use here.
 */

/** One request a service makes for the stack. */
export interface ServiceRequest {
  /** The catalogue entry it comes from. */
  readonly use: string;
  readonly principal: RequestPrincipal;
  readonly request: AuthorizedRequest;
}

/** A place in a template where a resource with a policy is handed to a service. */
export interface Site {
  readonly from: string;
  readonly fromType: string;
  /** The top-level property holding the reference. */
  readonly property: string;
  readonly to: string;
  readonly toType: string;
}

export interface SitePattern {
  readonly fromType: string;
  /** The top-level property, or `*` for any. */
  readonly property: string;
  readonly toType: string;
}

/** One kind of request a service makes on the stack's behalf. */
export interface ServiceUse {
  readonly id: string;
  /** What the service does, in a sentence. */
  readonly summary: string;
  /** The documentation the requests follow. */
  readonly source: string;
  readonly sites: SitePattern[];
  requests(d: DeployedTemplate, iam: IamModel): ServiceRequest[];
  /** Rules of the service besides its policies, broken by the template (e.g. a log group's name). */
  findings?(d: DeployedTemplate): string[];
}

/** The resource types whose policies services meet on the stack's behalf. */
export const POLICY_TARGETS = ['AWS::KMS::Key', 'AWS::S3::Bucket', 'AWS::SNS::Topic', 'AWS::SecretsManager::Secret', 'AWS::Logs::LogGroup'];

/** The deployment role CloudFormation runs as (the CDK bootstrap's execution role, AdministratorAccess by default). */
export function deploymentRole(d: DeployedTemplate): RequestPrincipal {
  return {
    external: `arn:${d.env.partition}:iam::${d.env.account}:role/cdk-hnb659fds-cfn-exec-role-${d.env.account}-${d.env.region}`,
    policies: [{ name: 'AdministratorAccess', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } }],
  };
}

// ---------------------------------------------------------------------------------------------
// helpers

function arnOf(d: DeployedTemplate, service: string, resource: string): string {
  return `arn:${d.env.partition}:${service}:${d.env.region}:${d.env.account}:${resource}`;
}

/** A log group's ARN as CloudWatch Logs writes it in the encryption context: colon form, no `:*`. */
export function logGroupArnOf(d: DeployedTemplate, name: string): string {
  return arnOf(d, 'logs', `log-group:${name}`);
}

/** A bucket's ARN. */
function bucketArn(d: DeployedTemplate, name: string): string {
  return `arn:${d.env.partition}:s3:::${name}`;
}

function list(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** The key a topic of the template is encrypted with, as an ARN. */
function topicKey(d: DeployedTemplate, iam: IamModel, topicArn: string): string | undefined {
  const topic = d.logicalIds('AWS::SNS::Topic').find(id => d.ref(id) === topicArn);
  const key = topic === undefined ? undefined : d.property(topic, 'KmsMasterKeyId');
  return key === undefined ? undefined : iam.keyArn(String(key));
}

/**
 * A service publishing to a topic: `sns:Publish` (the topic policy) and, for a topic encrypted with
 * a customer managed key, the data key SNS asks KMS for in the publisher's name (the key policy),
 * with the topic's ARN as encryption context.
 */
function publishRequests(d: DeployedTemplate, iam: IamModel, use: string, service: string, topicArn: string, sourceArn: string,
  origin: string): ServiceRequest[] {
  const source = { 'aws:SourceArn': sourceArn, 'aws:SourceAccount': d.env.account };
  const requests: ServiceRequest[] = [{ use, principal: { service }, request: { action: 'sns:Publish', resource: topicArn, context: source, origin } }];
  const key = topicKey(d, iam, topicArn);
  if (key) {
    for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
      requests.push({
        use,
        principal: { service },
        request: { action, resource: key, context: { ...source, 'kms:EncryptionContext:aws:sns:topicArn': topicArn }, origin: `${origin} (encrypted topic)` },
      });
    }
  }
  return requests;
}

/** The secret a `SecretId` names (its complete ARN), in the template or a neighbour stack's, with the template holding it. */
function templateSecret(d: DeployedTemplate, secretId: string): { template: DeployedTemplate; id: string } | undefined {
  for (const t of [d, ...d.neighbours]) {
    const id = t.logicalIds('AWS::SecretsManager::Secret').find(s => t.ref(s) === secretId);
    if (id !== undefined) return { template: t, id };
  }
  return undefined;
}

/**
 * Reading a secret with a role: `secretsmanager:GetSecretValue`, and for a secret under a customer
 * managed key the `kms:Decrypt` Secrets Manager makes in the caller's name (`kms:ViaService`, the
 * secret's ARN as encryption context).
 */
function readSecretRequests(d: DeployedTemplate, iam: IamModel, use: string, principal: RequestPrincipal, secretId: string,
  origin: string): ServiceRequest[] {
  const requests: ServiceRequest[] = [{ use, principal, request: { action: 'secretsmanager:GetSecretValue', resource: secretId, origin } }];
  const secret = templateSecret(d, secretId);
  const key = secret === undefined ? undefined : secret.template.property(secret.id, 'KmsKeyId');
  if (key !== undefined) {
    requests.push({
      use,
      principal,
      request: {
        action: 'kms:Decrypt',
        resource: iam.keyArn(String(key)),
        context: {
          'kms:ViaService': `secretsmanager.${d.env.region}.amazonaws.com`,
          'kms:CallerAccount': d.env.account,
          'kms:EncryptionContext:SecretARN': secretId,
        },
        origin,
      },
    });
  }
  return requests;
}

/** A service assuming a role of the template, with the confused-deputy keys it sends. */
function assumeRequest(d: DeployedTemplate, use: string, service: string, roleArn: string, sourceArn: string, origin: string): ServiceRequest {
  return {
    use,
    principal: { service },
    request: { action: 'sts:AssumeRole', resource: roleArn, context: { 'aws:SourceAccount': d.env.account, 'aws:SourceArn': sourceArn }, origin },
  };
}

function role(iam: IamModel, arn: string): RequestPrincipal {
  return { role: iam.roleWithArn(arn) };
}

/** Every Task/Map state of a state machine definition, nested ones included. */
function states(definition: any): any[] {
  const found: any[] = [];
  const walk = (machine: any) => {
    for (const state of Object.values<any>(machine?.States ?? {})) {
      found.push(state);
      if (state.ItemProcessor) walk(state.ItemProcessor);
      if (state.Iterator) walk(state.Iterator);
      for (const branch of state.Branches ?? []) walk(branch);
    }
  };
  walk(definition);
  return found;
}

// ---------------------------------------------------------------------------------------------
// the catalogue

const LOGS_KMS: ServiceUse = {
  id: 'logs-kms',
  summary: 'CloudWatch Logs encrypts and decrypts the events of a log group with its KMS key, as logs.<region>.amazonaws.com, with the log group\'s ARN as encryption context',
  source: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html',
  sites: [{ fromType: 'AWS::Logs::LogGroup', property: 'KmsKeyId', toType: 'AWS::KMS::Key' }],
  requests(d, iam) {
    const requests: ServiceRequest[] = [];
    for (const group of d.logicalIds('AWS::Logs::LogGroup')) {
      const key = d.property(group, 'KmsKeyId');
      if (key === undefined) continue;
      const name = d.ref(group);
      // the cryptographic operations carry the encryption context; kms:DescribeKey carries none, so
      // the documented statement, conditioned on the context, cannot be what CloudWatch Logs relies on for it
      for (const action of ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey']) {
        requests.push({
          use: 'logs-kms',
          principal: { service: `logs.${d.env.region}.amazonaws.com` },
          request: {
            action,
            resource: iam.keyArn(String(key)),
            context: { 'kms:EncryptionContext:aws:logs:arn': logGroupArnOf(d, name) },
            origin: `CloudWatch Logs encrypts the events of ${group} (${name})`,
          },
        });
      }
    }
    return requests;
  },
};

const ALARM_PUBLISH: ServiceUse = {
  id: 'alarm-publish',
  summary: 'A CloudWatch alarm action publishes to an SNS topic as cloudwatch.amazonaws.com (aws:SourceArn = the alarm), and for an encrypted topic asks KMS for a data key',
  source: 'https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services',
  sites: [
    { fromType: 'AWS::CloudWatch::Alarm', property: 'AlarmActions', toType: 'AWS::SNS::Topic' },
    { fromType: 'AWS::CloudWatch::Alarm', property: 'OKActions', toType: 'AWS::SNS::Topic' },
    { fromType: 'AWS::CloudWatch::Alarm', property: 'InsufficientDataActions', toType: 'AWS::SNS::Topic' },
    { fromType: 'AWS::SNS::Topic', property: 'KmsMasterKeyId', toType: 'AWS::KMS::Key' },
  ],
  requests(d, iam) {
    const requests: ServiceRequest[] = [];
    for (const alarm of d.logicalIds('AWS::CloudWatch::Alarm')) {
      const p = d.properties(alarm);
      for (const topic of [...list(p.AlarmActions), ...list(p.OKActions), ...list(p.InsufficientDataActions)].filter(a => /^arn:[^:]+:sns:/.test(a))) {
        requests.push(...publishRequests(d, iam, 'alarm-publish', 'cloudwatch.amazonaws.com', topic, d.getAtt(alarm, 'Arn'), `the alarm ${alarm} notifies ${topic}`));
      }
    }
    return requests;
  },
};

const RULE_PUBLISH: ServiceUse = {
  id: 'rule-publish',
  summary: 'An EventBridge rule delivers to an SNS topic target as events.amazonaws.com (aws:SourceArn = the rule), and for an encrypted topic asks KMS for a data key',
  source: 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions',
  sites: [
    { fromType: 'AWS::Events::Rule', property: 'Targets', toType: 'AWS::SNS::Topic' },
    { fromType: 'AWS::SNS::Topic', property: 'KmsMasterKeyId', toType: 'AWS::KMS::Key' },
  ],
  requests(d, iam) {
    const requests: ServiceRequest[] = [];
    for (const rule of d.logicalIds('AWS::Events::Rule')) {
      for (const target of d.property(rule, 'Targets') ?? []) {
        if (!/^arn:[^:]+:sns:/.test(String(target.Arn))) continue;
        requests.push(...publishRequests(d, iam, 'rule-publish', 'events.amazonaws.com', target.Arn, d.getAtt(rule, 'Arn'), `the rule ${rule} delivers to ${target.Arn}`));
      }
    }
    return requests;
  },
};

const DMS_EVENT_PUBLISH: ServiceUse = {
  id: 'dms-event-publish',
  summary: 'A DMS event subscription publishes to its SNS topic as dms.amazonaws.com (aws:SourceArn = the subscription, arn:…:dms:…:es:<name>), and for an encrypted topic asks KMS for a data key',
  source: 'https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Events.html',
  sites: [
    { fromType: 'AWS::DMS::EventSubscription', property: 'SnsTopicArn', toType: 'AWS::SNS::Topic' },
    { fromType: 'AWS::SNS::Topic', property: 'KmsMasterKeyId', toType: 'AWS::KMS::Key' },
  ],
  requests(d, iam) {
    return d.logicalIds('AWS::DMS::EventSubscription').flatMap(subscription => publishRequests(d, iam, 'dms-event-publish', 'dms.amazonaws.com',
      d.property(subscription, 'SnsTopicArn'), arnOf(d, 'dms', `es:${d.ref(subscription)}`), `the DMS event subscription ${subscription} notifies`));
  },
};

const DMS_ENDPOINT_SECRET: ServiceUse = {
  id: 'dms-endpoint-secret',
  summary: 'DMS assumes an endpoint\'s access role as dms.<region>.amazonaws.com and reads the endpoint\'s secret with it (kms:Decrypt through Secrets Manager for a customer managed key)',
  source: 'https://docs.aws.amazon.com/dms/latest/userguide/security_iam_secretsmanager.html',
  sites: ['PostgreSqlSettings', 'MySqlSettings', 'OracleSettings', 'MicrosoftSqlServerSettings']
    .map(property => ({ fromType: 'AWS::DMS::Endpoint', property, toType: 'AWS::SecretsManager::Secret' })),
  requests(d, iam) {
    const requests: ServiceRequest[] = [];
    for (const endpoint of d.logicalIds('AWS::DMS::Endpoint')) {
      const p = d.properties(endpoint);
      for (const settings of Object.keys(p).filter(k => k.endsWith('Settings')).map(k => p[k])) {
        if (!settings?.SecretsManagerSecretId || !settings.SecretsManagerAccessRoleArn) continue;
        const origin = `DMS reads the credentials of ${endpoint}`;
        requests.push(assumeRequest(d, 'dms-endpoint-secret', `dms.${d.env.region}.amazonaws.com`, settings.SecretsManagerAccessRoleArn, d.ref(endpoint), origin));
        requests.push(...readSecretRequests(d, iam, 'dms-endpoint-secret', role(iam, settings.SecretsManagerAccessRoleArn), settings.SecretsManagerSecretId, origin));
      }
    }
    return requests;
  },
};

const SCHEMA_CONVERSION_SECRETS: ServiceUse = {
  id: 'schema-conversion-secrets',
  summary: 'DMS Schema Conversion assumes a data provider\'s secrets role — as schema-conversion.dms.amazonaws.com or the regional DMS principal — and reads the provider\'s secret with it',
  source: 'https://aws.amazon.com/blogs/database/accelerate-your-database-migration-journey-using-aws-dms-schema-conversion/',
  sites: ['SourceDataProviderDescriptors', 'TargetDataProviderDescriptors']
    .map(property => ({ fromType: 'AWS::DMS::MigrationProject', property, toType: 'AWS::SecretsManager::Secret' })),
  requests(d, iam) {
    const requests: ServiceRequest[] = [];
    for (const project of d.logicalIds('AWS::DMS::MigrationProject')) {
      const p = d.properties(project);
      for (const descriptor of [...p.SourceDataProviderDescriptors ?? [], ...p.TargetDataProviderDescriptors ?? []]) {
        const origin = `DMS Schema Conversion reads the credentials of ${descriptor.DataProviderIdentifier} for ${project}`;
        for (const service of ['schema-conversion.dms.amazonaws.com', `dms.${d.env.region}.amazonaws.com`]) {
          requests.push(assumeRequest(d, 'schema-conversion-secrets', service, descriptor.SecretsManagerAccessRoleArn, d.ref(project), origin));
        }
        requests.push(...readSecretRequests(d, iam, 'schema-conversion-secrets', role(iam, descriptor.SecretsManagerAccessRoleArn),
          descriptor.SecretsManagerSecretId, origin));
      }
    }
    return requests;
  },
};

const SCHEMA_CONVERSION_BUCKET: ServiceUse = {
  id: 'schema-conversion-bucket',
  summary: 'DMS Schema Conversion assumes the project\'s S3 role — as schema-conversion.dms.amazonaws.com or the regional DMS principal — and writes and reads the project\'s files (versioned) in its bucket, over TLS',
  source: 'https://aws.amazon.com/blogs/database/accelerate-your-database-migration-journey-using-aws-dms-schema-conversion/',
  sites: [{ fromType: 'AWS::DMS::MigrationProject', property: 'SchemaConversionApplicationAttributes', toType: 'AWS::S3::Bucket' }],
  requests(d, iam) {
    const requests: ServiceRequest[] = [];
    for (const project of d.logicalIds('AWS::DMS::MigrationProject')) {
      const attributes = d.property(project, 'SchemaConversionApplicationAttributes');
      if (!attributes?.S3BucketPath) continue;
      const bucket = bucketArn(d, String(attributes.S3BucketPath).replace(/^s3:\/\//, '').split('/')[0]);
      const origin = `DMS Schema Conversion keeps the files of ${project}`;
      const principal = role(iam, attributes.S3BucketRoleArn);
      for (const service of ['schema-conversion.dms.amazonaws.com', `dms.${d.env.region}.amazonaws.com`]) {
        requests.push(assumeRequest(d, 'schema-conversion-bucket', service, attributes.S3BucketRoleArn, d.ref(project), origin));
      }
      for (const action of ['s3:PutObject', 's3:GetObject', 's3:GetObjectVersion']) {
        requests.push({ use: 'schema-conversion-bucket', principal, request: { action, resource: `${bucket}/assessment-reports/report.zip`, origin } });
      }
      for (const action of ['s3:ListBucket', 's3:GetBucketLocation', 's3:GetBucketVersioning']) {
        requests.push({ use: 'schema-conversion-bucket', principal, request: { action, resource: bucket, origin } });
      }
    }
    return requests;
  },
};

const ASSESSMENT_BUCKET: ServiceUse = {
  id: 'assessment-bucket',
  summary: 'DMS assumes the premigration assessment role as dms.amazonaws.com and writes the results to the bucket (SSE-KMS: a data key through S3)',
  source: 'https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.AssessmentReport.html',
  sites: [{ fromType: 'Custom::DmsPremigrationAssessment', property: 'ResultLocationBucket', toType: 'AWS::S3::Bucket' }],
  requests(d, iam) {
    const requests: ServiceRequest[] = [];
    for (const id of d.logicalIds('Custom::DmsPremigrationAssessment')) {
      const p = d.properties(id);
      const bucket = bucketArn(d, p.ResultLocationBucket);
      const origin = `DMS writes the premigration assessment results of ${id}`;
      const principal = role(iam, p.ServiceAccessRoleArn);
      requests.push(assumeRequest(d, 'assessment-bucket', 'dms.amazonaws.com', p.ServiceAccessRoleArn, `${String(p.TaskArn).replace(/:task:.*/, ':assessment-run:')}RUN`, origin));
      const object = `${bucket}/${p.TaskIdentifier}/run-1/summary.json`;
      for (const action of ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:PutObjectTagging']) {
        requests.push({ use: 'assessment-bucket', principal, request: { action, resource: object, origin } });
      }
      for (const action of ['s3:ListBucket', 's3:GetBucketLocation']) {
        requests.push({ use: 'assessment-bucket', principal, request: { action, resource: bucket, origin } });
      }
      if (p.ResultKmsKeyArn) {
        for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
          requests.push({
            use: 'assessment-bucket',
            principal,
            request: {
              action,
              resource: p.ResultKmsKeyArn,
              origin,
              context: { 'kms:ViaService': `s3.${d.env.region}.amazonaws.com`, 'kms:CallerAccount': d.env.account, 'kms:EncryptionContext:aws:s3:arn': bucket },
            },
          });
        }
      }
    }
    return requests;
  },
};

const DISTRIBUTED_MAP_BUCKET: ServiceUse = {
  id: 'distributed-map-bucket',
  summary: 'A Distributed Map reads its items from S3 (ItemReader) and writes its child results there (ResultWriter) with the state machine\'s role',
  source: 'https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html',
  sites: [{ fromType: 'AWS::StepFunctions::StateMachine', property: 'DefinitionString', toType: 'AWS::S3::Bucket' }],
  requests(d, iam) {
    const requests: ServiceRequest[] = [];
    for (const machine of d.logicalIds('AWS::StepFunctions::StateMachine')) {
      const principal = role(iam, d.property(machine, 'RoleArn'));
      for (const state of states(JSON.parse(d.property(machine, 'DefinitionString')))) {
        const origin = `${machine} runs its Distributed Map`;
        const reader = state.ItemReader?.Parameters;
        if (reader?.Bucket) {
          requests.push({ use: 'distributed-map-bucket', principal, request: { action: 's3:GetObject', resource: `${bucketArn(d, reader.Bucket)}/${reader.Key ?? 'runs/run-1/items.json'}`, origin } });
        }
        const writer = state.ResultWriter?.Parameters ?? state.ResultWriter?.WriterConfig;
        const writerBucket = writer?.Bucket ?? state.ResultWriter?.Parameters?.Bucket;
        if (writerBucket) {
          const object = `${bucketArn(d, writerBucket)}/${writer.Prefix ?? ''}/run-1/SUCCEEDED_0.json`.replace(/\/\/+/g, '/').replace('s3:/', 's3://').replace('s3:::/', 's3:::');
          for (const action of ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload']) {
            requests.push({ use: 'distributed-map-bucket', principal, request: { action, resource: object, origin } });
          }
        }
      }
    }
    return requests;
  },
};

const STATES_LOGS: ServiceUse = {
  id: 'states-logs',
  summary: 'Step Functions delivers a state machine\'s logs through CloudWatch Logs\' vended-logs delivery with the state machine\'s role, adding the log group to the account\'s resource policy (5,120 characters): log groups are named under /aws/vendedlogs/',
  source: 'https://docs.aws.amazon.com/step-functions/latest/dg/bp-cwl.html',
  sites: [{ fromType: 'AWS::StepFunctions::StateMachine', property: 'LoggingConfiguration', toType: 'AWS::Logs::LogGroup' }],
  requests(d, iam) {
    const requests: ServiceRequest[] = [];
    for (const machine of d.logicalIds('AWS::StepFunctions::StateMachine')) {
      if (!d.property(machine, 'LoggingConfiguration')) continue;
      const principal = role(iam, d.property(machine, 'RoleArn'));
      for (const action of ['logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery', 'logs:ListLogDeliveries',
        'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies', 'logs:DescribeLogGroups']) {
        requests.push({ use: 'states-logs', principal, request: { action, resource: '*', origin: `Step Functions sets up the log delivery of ${machine}` } });
      }
    }
    return requests;
  },
  findings(d) {
    const findings: string[] = [];
    for (const machine of d.logicalIds('AWS::StepFunctions::StateMachine')) {
      for (const destination of d.property(machine, 'LoggingConfiguration')?.Destinations ?? []) {
        const arn = String(destination.CloudWatchLogsLogGroup?.LogGroupArn ?? '');
        const name = arn.split(':log-group:')[1]?.replace(/:\*$/, '') ?? arn;
        if (!name.startsWith('/aws/vendedlogs/')) {
          findings.push(`${machine} logs to ${name}, not under /aws/vendedlogs/: every such log group grows the account's CloudWatch Logs resource policy (5,120 characters)`);
        }
      }
    }
    return findings;
  },
};

const LAMBDA_LOGS: ServiceUse = {
  id: 'lambda-logs',
  summary: 'Lambda writes a function\'s logs to the log group of its logging configuration with the function\'s role',
  source: 'https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html',
  sites: [{ fromType: 'AWS::Lambda::Function', property: 'LoggingConfig', toType: 'AWS::Logs::LogGroup' }],
  requests(d, iam) {
    const requests: ServiceRequest[] = [];
    for (const fn of d.logicalIds('AWS::Lambda::Function')) {
      const group = d.property(fn, 'LoggingConfig')?.LogGroup;
      if (!group) continue;
      const stream = `${logGroupArnOf(d, group)}:log-stream:2026/11/29/[$LATEST]abcdef`;
      for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
        requests.push({ use: 'lambda-logs', principal: { role: iam.roleOfFunction(fn) }, request: { action, resource: stream, origin: `Lambda writes the logs of ${fn}` } });
      }
    }
    return requests;
  },
};

const CODEBUILD: ServiceUse = {
  id: 'codebuild',
  summary: 'CodeBuild, with a project\'s service role, reads the SECRETS_MANAGER variables\' secrets, writes the build log, and uses the project\'s key for build outputs',
  source: 'https://docs.aws.amazon.com/codebuild/latest/userguide/setting-up-kms.html',
  sites: [
    { fromType: 'AWS::CodeBuild::Project', property: 'Environment', toType: 'AWS::SecretsManager::Secret' },
    { fromType: 'AWS::CodeBuild::Project', property: 'LogsConfig', toType: 'AWS::Logs::LogGroup' },
    { fromType: 'AWS::CodeBuild::Project', property: 'EncryptionKey', toType: 'AWS::KMS::Key' },
  ],
  requests(d, iam) {
    const requests: ServiceRequest[] = [];
    for (const project of d.logicalIds('AWS::CodeBuild::Project')) {
      const p = d.properties(project);
      const principal = role(iam, p.ServiceRole);
      const origin = `CodeBuild runs a build of ${project}`;
      for (const variable of (p.Environment?.EnvironmentVariables ?? []).filter((v: any) => v.Type === 'SECRETS_MANAGER')) {
        // <secret id>:<json key>: the secret id is a complete ARN, itself holding colons
        const secretId = String(variable.Value).split(':').slice(0, -1).join(':');
        requests.push(...readSecretRequests(d, iam, 'codebuild', principal, secretId, origin));
      }
      const group = p.LogsConfig?.CloudWatchLogs?.GroupName;
      if (group) {
        const stream = `${logGroupArnOf(d, group)}:log-stream:build-1`;
        for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
          requests.push({ use: 'codebuild', principal, request: { action, resource: stream, origin } });
        }
      }
      if (p.EncryptionKey) {
        for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
          requests.push({ use: 'codebuild', principal, request: { action, resource: iam.keyArn(p.EncryptionKey), origin } });
        }
      }
    }
    return requests;
  },
};

const DMS_STORAGE_KEY: ServiceUse = {
  id: 'dms-storage-key',
  summary: 'DMS encrypts a replication instance\'s (or a DMS Serverless replication\'s) storage with its key: CloudFormation\'s role describes the key and creates a grant for DMS through DMS (kms:GrantIsForAWSResource)',
  source: 'https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource',
  sites: [
    { fromType: 'AWS::DMS::ReplicationInstance', property: 'KmsKeyId', toType: 'AWS::KMS::Key' },
    { fromType: 'AWS::DMS::ReplicationConfig', property: 'ComputeConfig', toType: 'AWS::KMS::Key' },
  ],
  requests(d, iam) {
    const keys: [string, string][] = [
      ...d.logicalIds('AWS::DMS::ReplicationInstance').map(id => [id, d.property(id, 'KmsKeyId')] as [string, string]),
      ...d.logicalIds('AWS::DMS::ReplicationConfig').map(id => [id, d.property(id, 'ComputeConfig')?.KmsKeyId] as [string, string]),
    ];
    const requests: ServiceRequest[] = [];
    for (const [id, key] of keys.filter(([, k]) => k !== undefined)) {
      const via = { 'kms:ViaService': `dms.${d.env.region}.amazonaws.com`, 'kms:CallerAccount': d.env.account };
      const origin = `CloudFormation creates ${id}, encrypted with its key`;
      requests.push({ use: 'dms-storage-key', principal: deploymentRole(d), request: { action: 'kms:DescribeKey', resource: iam.keyArn(key), context: via, origin } });
      requests.push({
        use: 'dms-storage-key',
        principal: deploymentRole(d),
        request: { action: 'kms:CreateGrant', resource: iam.keyArn(key), context: { ...via, 'kms:GrantIsForAWSResource': 'true' }, origin },
      });
    }
    return requests;
  },
};

const SECRET_KEY: ServiceUse = {
  id: 'secret-key',
  summary: 'Secrets Manager encrypts a secret\'s value under its key for the principal writing it (CloudFormation generating it): kms:GenerateDataKey and kms:Decrypt through Secrets Manager, the secret\'s ARN as encryption context',
  source: 'https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html',
  sites: [{ fromType: 'AWS::SecretsManager::Secret', property: 'KmsKeyId', toType: 'AWS::KMS::Key' }],
  requests(d, iam) {
    const requests: ServiceRequest[] = [];
    for (const secret of d.logicalIds('AWS::SecretsManager::Secret')) {
      const key = d.property(secret, 'KmsKeyId');
      if (key === undefined) continue;
      for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
        requests.push({
          use: 'secret-key',
          principal: deploymentRole(d),
          request: {
            action,
            resource: iam.keyArn(String(key)),
            context: { 'kms:ViaService': `secretsmanager.${d.env.region}.amazonaws.com`, 'kms:CallerAccount': d.env.account, 'kms:EncryptionContext:SecretARN': d.ref(secret) },
            origin: `CloudFormation writes the value of ${secret}`,
          },
        });
      }
    }
    return requests;
  },
};

const AUTO_DELETE_OBJECTS: ServiceUse = {
  id: 'auto-delete-objects',
  summary: 'On stack deletion, aws-cdk-lib\'s auto-delete-objects handler empties a bucket (every version and delete marker) with its provider role, which the bucket policy admits',
  source: 'https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_s3.BucketProps.html#autodeleteobjects',
  sites: [{ fromType: 'Custom::S3AutoDeleteObjects', property: 'BucketName', toType: 'AWS::S3::Bucket' }],
  requests(d, iam) {
    const requests: ServiceRequest[] = [];
    for (const id of d.logicalIds('Custom::S3AutoDeleteObjects')) {
      const bucket = bucketArn(d, d.property(id, 'BucketName'));
      const principal = { role: iam.roleOfFunction(iam.functionWithArn(d.property(id, 'ServiceToken'))) };
      const origin = `the stack deletion empties the bucket of ${id}`;
      for (const action of ['s3:GetBucketTagging', 's3:GetBucketPolicy', 's3:PutBucketPolicy', 's3:ListBucketVersions']) {
        requests.push({ use: 'auto-delete-objects', principal, request: { action, resource: bucket, origin } });
      }
      requests.push({ use: 'auto-delete-objects', principal, request: { action: 's3:DeleteObjectVersion', resource: `${bucket}/any/key.json`, origin } });
    }
    return requests;
  },
};

/** Every service use modelled. */
export const SERVICE_USES: ServiceUse[] = [
  LOGS_KMS, ALARM_PUBLISH, RULE_PUBLISH, DMS_EVENT_PUBLISH, DMS_ENDPOINT_SECRET, SCHEMA_CONVERSION_SECRETS, SCHEMA_CONVERSION_BUCKET,
  ASSESSMENT_BUCKET, DISTRIBUTED_MAP_BUCKET, STATES_LOGS, LAMBDA_LOGS, CODEBUILD, DMS_STORAGE_KEY, SECRET_KEY, AUTO_DELETE_OBJECTS,
];

/**
 * References to a resource with a policy that are no service acting on the stack's behalf, and why.
 */
export const NOT_SERVICE_USES: (SitePattern & { readonly reason: string })[] = [
  ...['Bucket', 'PolicyDocument'].map(property => ({ fromType: 'AWS::S3::BucketPolicy', property, toType: 'AWS::S3::Bucket', reason: 'the bucket\'s own policy' })),
  ...['Topics', 'PolicyDocument'].map(property => ({ fromType: 'AWS::SNS::TopicPolicy', property, toType: 'AWS::SNS::Topic', reason: 'the topic\'s own policy' })),
  {
    fromType: 'AWS::SecretsManager::SecretTargetAttachment',
    property: 'SecretId',
    toType: 'AWS::SecretsManager::Secret',
    reason: 'CloudFormation writes the database\'s host and port into the secret with the deployment role (secret-key covers its key)',
  },
  ...['MasterUsername', 'MasterUserPassword'].map(property => ({
    fromType: 'AWS::RDS::DBInstance',
    property,
    toType: 'AWS::SecretsManager::Secret',
    reason: 'a dynamic reference CloudFormation resolves with the deployment role',
  })),
  {
    fromType: 'AWS::Lambda::Function',
    property: 'Description',
    toType: 'AWS::S3::Bucket',
    reason: 'text: aws-cdk-lib names the bucket its auto-delete-objects function empties in the function\'s description (auto-delete-objects covers the use)',
  },
  {
    fromType: 'AWS::DMS::DataProvider',
    property: 'Settings',
    toType: 'AWS::SecretsManager::Secret',
    reason: 'a dynamic reference ({{resolve:secretsmanager:…:host}}) CloudFormation resolves with the deployment role',
  },
  // the custom resources of this library (and of the bundled example): their handlers read the
  // secrets and buckets they are given with their own roles; those requests are recorded while the
  // handlers run and decided with the resource's policy (test/deploy/iam.test.ts, test/conversion/iam.test.ts,
  // test/live/assessment-deploy.test.ts, test/fidelity/distributed-run.test.ts)
  ...[...Object.keys(RESOURCE_KINDS), PREFLIGHT_TYPE, VERIFICATION_TYPE, 'Custom::SampleData'].flatMap(fromType =>
    ['AWS::SecretsManager::Secret', 'AWS::S3::Bucket'].map(toType => ({
      fromType, property: '*', toType, reason: 'a handler of this library reads it with its own role, decided with the resource\'s policy where the handler runs',
    }))),
];

// ---------------------------------------------------------------------------------------------
// finding the sites

/** Whether `r` is a resource whose policy (or, for a log group, whose key) services meet. */
function isTarget(r: ResourceJson): boolean {
  if (r.Type === 'AWS::Logs::LogGroup') return r.Properties?.KmsKeyId !== undefined;
  return POLICY_TARGETS.includes(r.Type);
}

/** The logical ids `value` refers to (`Ref`, `Fn::GetAtt`, `${X}` in `Fn::Sub`). */
function references(value: unknown, into: Set<string>, resources: Record<string, ResourceJson>): void {
  if (Array.isArray(value)) {
    value.forEach(v => references(v, into, resources));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const v = value as Record<string, any>;
  if (typeof v.Ref === 'string' && resources[v.Ref]) into.add(v.Ref);
  if (Array.isArray(v['Fn::GetAtt']) && resources[v['Fn::GetAtt'][0]]) into.add(v['Fn::GetAtt'][0]);
  if (typeof v['Fn::Sub'] === 'string' || Array.isArray(v['Fn::Sub'])) {
    const text = Array.isArray(v['Fn::Sub']) ? v['Fn::Sub'][0] : v['Fn::Sub'];
    for (const m of String(text).matchAll(/\$\{([^}.!]+)/g)) if (resources[m[1]]) into.add(m[1]);
  }
  Object.values(v).forEach(x => references(x, into, resources));
}

/**
 * Every place in `template` where a resource refers to a key, bucket, topic, secret or encrypted log
 * group (through a secret's target attachment too), but for IAM policies, whose side is the caller's.
 */
export function serviceUseSites(template: TemplateJson): Site[] {
  const resources = template.Resources;
  const resolve = (id: string): string => {
    const r = resources[id];
    if (r.Type !== 'AWS::SecretsManager::SecretTargetAttachment') return id;
    const secret = new Set<string>();
    references(r.Properties?.SecretId, secret, resources);
    return [...secret][0] ?? id;
  };
  const sites: Site[] = [];
  for (const [from, r] of Object.entries(resources)) {
    if (/^AWS::IAM::/.test(r.Type)) continue;
    for (const [property, value] of Object.entries(r.Properties ?? {})) {
      const found = new Set<string>();
      references(value, found, resources);
      for (const referenced of found) {
        const to = r.Type === 'AWS::SecretsManager::SecretTargetAttachment' ? referenced : resolve(referenced);
        if (to === from || !isTarget(resources[to])) continue;
        sites.push({ from, fromType: r.Type, property, to, toType: resources[to].Type });
      }
    }
  }
  return sites;
}

function matches(pattern: SitePattern, site: Site): boolean {
  return pattern.fromType === site.fromType && (pattern.property === '*' || pattern.property === site.property) && pattern.toType === site.toType;
}

/** The entries that claim a site. */
export function claimsOf(site: Site): ServiceUse[] {
  return SERVICE_USES.filter(use => use.sites.some(p => matches(p, site)));
}

/** Resources made for the user's own use outside the stack: no service acts on them for the stack. */
export const HANDED_OUT: { readonly type: string; readonly logicalId: RegExp; readonly reason: string }[] = [
  {
    type: 'AWS::SecretsManager::Secret',
    logicalId: /ClientCredentials[0-9A-F]{8}$/,
    reason: 'NeonTargetEndpoint.clientCredentialsSecret (the plain password for clients that send SNI): read by the user\'s tools '
      + 'with their own identity, and by the stack\'s checks and schema copy when they are given it (then referred to)',
  },
];

/**
 * What the catalogue leaves uncovered in `template`: sites no entry claims nor explains, and
 * resources with a policy nothing in the template refers to (handed over some other way — by a
 * name in a string — that the catalogue cannot see).
 */
export function uncovered(template: TemplateJson): string[] {
  const sites = serviceUseSites(template);
  const problems: string[] = [];
  for (const site of sites) {
    if (claimsOf(site).length === 0 && !NOT_SERVICE_USES.some(p => matches(p, site))) {
      problems.push(`${site.fromType}.${site.property} → ${site.toType} (${site.from} → ${site.to}): no service use in the catalogue claims it`);
    }
  }
  for (const [id, r] of Object.entries(template.Resources)) {
    if (!isTarget(r) || HANDED_OUT.some(h => h.type === r.Type && h.logicalId.test(id))) continue;
    if (!sites.some(s => s.to === id || s.from === id)) {
      problems.push(`${r.Type} ${id}: nothing in the template refers to it, so no service use can be modelled: refer to it, or register how it is used`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// deciding

/** Every catalogued request of a template. */
export function serviceRequests(d: DeployedTemplate, iam: IamModel = IamModel.of(d)): ServiceRequest[] {
  return SERVICE_USES.flatMap(use => use.requests(d, iam));
}

/** Every rule a service imposes that the template breaks. */
export function serviceFindings(d: DeployedTemplate): string[] {
  return SERVICE_USES.flatMap(use => use.findings?.(d) ?? []);
}

/** The decisions on `requests`, and the denied ones as lines. */
export async function decideAll(iam: IamModel, requests: ServiceRequest[]): Promise<{ decisions: Decision[]; denied: string[] }> {
  const decisions: Decision[] = [];
  const denied: string[] = [];
  for (const r of requests) {
    const decision = await iam.decideFor(r.principal, r.request);
    decisions.push(decision);
    if (!decision.allowed) {
      denied.push(`[${r.use}] ${principalName(r.principal)}: ${r.request.action} on ${r.request.resource} (${decision.result}) — ${r.request.origin}`);
    }
  }
  return { decisions, denied };
}

/**
 * A template as deployed where what lies outside it is answered by stand-ins: the complete ARN of a
 * secret the stack looks up by name (`Custom::NeonDmsSecretArns`) from the name it was given, any
 * other custom resource attribute as `<logicalId>.<attribute>`, another stack's export as
 * `imported:<name>`.
 */
export class StandInTemplate extends DeployedTemplate {
  public customAttribute(logicalId: string, attribute: string): string {
    const known = this.optionalCustomAttribute(logicalId, attribute);
    if (known !== undefined) return known;
    if (this.resource(logicalId).Type === 'Custom::NeonDmsSecretArns') {
      const secretId = String(this.property(logicalId, 'Secrets')?.[attribute]?.SecretId ?? attribute);
      if (secretId.startsWith('arn:')) return `${secretId}-${secretSuffix(secretId.split(':secret:')[1])}`;
      return `arn:${this.env.partition}:secretsmanager:${this.env.region}:${this.env.account}:secret:${secretId}-${secretSuffix(secretId)}`;
    }
    return `${logicalId}.${attribute}`;
  }

  public importValue(name: string): unknown {
    try {
      return super.importValue(name);
    } catch {
      return `imported:${name}`;
    }
  }
}
