import * as crypto from 'crypto';

/**
 * A synthesized template as CloudFormation would deploy it into one account and region: every
 * intrinsic function evaluated, every `Ref` and `Fn::GetAtt` answered with the physical id or
 * attribute the resource type returns (ARNs in AWS's own formats, names CloudFormation generates).
 *
 * The deploy-reality checks (network reachability, IAM simulation, Secrets Manager's ARN rules) read
 * templates through it, so they judge concrete values — an ARN, a CIDR block, a security group id —
 * the way AWS would see them, not CloudFormation expressions.
 */

/** The account, region and stack a template is deployed into. */
export interface DeployEnvironment {
  readonly account: string;
  readonly region: string;
  readonly partition: string;
  readonly stackName: string;
  /**
   * Which creation of the stack this is: CloudFormation gives a stack a new id (its last part a new
   * GUID) each time a stack of that name is created, e.g. again after it was deleted.
   *
   * @default 1
   */
  readonly creation?: number;
}

export const DEFAULT_DEPLOY_ENV: DeployEnvironment = {
  account: '123456789012',
  region: 'us-east-1',
  partition: 'aws',
  stackName: 'Stack',
};

/** A CloudFormation template as JSON. */
/**
 * Attributes a kind's handler answers with the property of the same name, as given (the credentials
 * handler answers the clients' secret it wrote: lib/neon/credentials.handler.ts).
 */
const ECHOED_ATTRIBUTES: Record<string, string[]> = {
  'Custom::NeonDmsCredentials': ['ClientSecretArn'],
};

export interface TemplateJson {
  readonly Resources: Record<string, ResourceJson>;
  readonly Conditions?: Record<string, unknown>;
  readonly Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  readonly Parameters?: Record<string, { Default?: unknown }>;
  readonly Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
}

export interface ResourceJson {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
  readonly DependsOn?: string | string[];
  readonly Condition?: string;
}

/**
 * Attributes a custom resource returns, by logical id: what its handler answers at deploy time.
 * Tests fill them from real handler runs (or from what the handler is documented to return).
 */
export type CustomResourceAttributes = Record<string, Record<string, string>>;

export class DeployedTemplate {
  public readonly env: DeployEnvironment;
  public readonly stackId: string;
  private readonly customAttributes: CustomResourceAttributes;
  private readonly evaluating = new Set<string>();

  /** Where a wait condition handle's presigned URL points (an S3 URL unless a test serves it). */
  public waitConditionUrl: (logicalId: string) => string;

  /**
   * The other stacks of the app, deployed in the same account and Region: `Fn::ImportValue` reads
   * their exports, and the models look up resources this stack refers to by import among them.
   */
  public neighbours: DeployedTemplate[] = [];

  constructor(public readonly template: TemplateJson, env: Partial<DeployEnvironment> = {}, customAttributes: CustomResourceAttributes = {}) {
    this.env = { ...DEFAULT_DEPLOY_ENV, ...env };
    this.waitConditionUrl = (logicalId) =>
      `https://cloudformation-waitcondition-${this.env.region}.s3.amazonaws.com/${encodeURIComponent(this.stackId)}/${logicalId}?X-Amz-Signature=modelled`;
    this.stackId = `arn:${this.env.partition}:cloudformation:${this.env.region}:${this.env.account}:stack/${this.env.stackName}/${uuid((this.env.creation ?? 1) === 1 ? this.env.stackName : `${this.env.stackName}#${this.env.creation}`)}`;
    this.customAttributes = customAttributes;
  }

  /** Logical ids of the resources of `type` (every resource without it). */
  public logicalIds(type?: string): string[] {
    return Object.entries(this.template.Resources)
      .filter(([, r]) => type === undefined || r.Type === type)
      .map(([id]) => id);
  }

  public resource(logicalId: string): ResourceJson {
    const resource = this.template.Resources[logicalId];
    if (!resource) {
      throw new Error(`no resource ${logicalId} in the template`);
    }
    return resource;
  }

  /** The evaluated properties of a resource. */
  public properties(logicalId: string): Record<string, any> {
    return this.evaluate(this.resource(logicalId).Properties ?? {}) ?? {};
  }

  /** One evaluated property of a resource. */
  public property(logicalId: string, name: string): any {
    return this.evaluate(this.resource(logicalId).Properties?.[name]);
  }

  /** The evaluated tags of a resource, as a map (list- or map-shaped `Tags`). */
  public tags(logicalId: string): Record<string, string> {
    const tags = this.property(logicalId, 'Tags');
    if (Array.isArray(tags)) {
      return Object.fromEntries(tags.map((t: { Key: string; Value: string }) => [t.Key, t.Value]));
    }
    return tags && typeof tags === 'object' ? tags as Record<string, string> : {};
  }

  /** The logical id `Ref`/`Fn::GetAtt` in `value` points to, when it is one. */
  public referencedLogicalId(value: unknown): string | undefined {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const v = value as Record<string, any>;
      if (typeof v.Ref === 'string' && this.template.Resources[v.Ref]) {
        return v.Ref;
      }
      if (Array.isArray(v['Fn::GetAtt'])) {
        return v['Fn::GetAtt'][0];
      }
    }
    return undefined;
  }

  /** Evaluates every intrinsic function in `value`. */
  public evaluate(value: any): any {
    if (Array.isArray(value)) {
      return value.map(v => this.evaluate(v)).filter(v => v !== NO_VALUE);
    }
    if (value === null || typeof value !== 'object') {
      return value;
    }
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::') || keys[0] === 'Condition')) {
      return this.intrinsic(keys[0], value[keys[0]]);
    }
    const result: Record<string, any> = {};
    for (const [k, v] of Object.entries(value)) {
      const evaluated = this.evaluate(v);
      if (evaluated !== NO_VALUE) {
        result[k] = evaluated;
      }
    }
    return result;
  }

  /** What `Ref` returns for the resource. */
  public ref(logicalId: string): string {
    const resource = this.resource(logicalId);
    return this.guarded(`${logicalId}.Ref`, () => physicalId(this, logicalId, resource));
  }

  /** What `Fn::GetAtt` returns for the resource's attribute. */
  public getAtt(logicalId: string, attribute: string): any {
    const resource = this.resource(logicalId);
    return this.guarded(`${logicalId}.${attribute}`, () => attributeOf(this, logicalId, resource, attribute));
  }

  /** The attribute a custom resource's handler returned (see the constructor). */
  public customAttribute(logicalId: string, attribute: string): string {
    const value = this.optionalCustomAttribute(logicalId, attribute);
    if (value === undefined) {
      throw new Error(`the deployed value of ${logicalId}.${attribute} (a custom resource attribute) is not modelled: pass it in customAttributes`);
    }
    return value;
  }

  /** The value another stack exports under `name` (`Fn::ImportValue`): a neighbour's export. */
  public importValue(name: string): unknown {
    for (const neighbour of this.neighbours) {
      const output = Object.values(neighbour.template.Outputs ?? {}).find(o => o.Export && neighbour.evaluate(o.Export.Name) === name);
      if (output) return neighbour.evaluate(output.Value);
    }
    throw new Error(`intrinsic Fn::ImportValue is not modelled (${name}): no neighbour stack exports it`);
  }

  /** The attribute a custom resource's handler returned, when it is modelled. */
  public optionalCustomAttribute(logicalId: string, attribute: string): string | undefined {
    const echoed = ECHOED_ATTRIBUTES[this.resource(logicalId).Type]?.includes(attribute);
    return this.customAttributes[logicalId]?.[attribute] ?? (echoed ? String(this.property(logicalId, attribute)) : undefined);
  }

  private guarded<T>(key: string, produce: () => T): T {
    if (this.evaluating.has(key)) {
      throw new Error(`circular reference while evaluating ${key}`);
    }
    this.evaluating.add(key);
    try {
      return produce();
    } finally {
      this.evaluating.delete(key);
    }
  }

  private intrinsic(name: string, arg: any): any {
    switch (name) {
      case 'Ref':
        return this.pseudo(arg) ?? this.parameter(arg) ?? this.ref(arg);
      case 'Fn::GetAtt': {
        const [id, attr] = Array.isArray(arg) ? arg : String(arg).split(/\.(.+)/);
        return this.getAtt(id, attr);
      }
      case 'Fn::Join': {
        const [sep, parts] = arg;
        return (this.evaluate(parts) as unknown[]).join(sep);
      }
      case 'Fn::Select': {
        const [index, list] = arg;
        const items = this.evaluate(list);
        return items[Number(this.evaluate(index))];
      }
      case 'Fn::Split': {
        const [sep, source] = arg;
        return String(this.evaluate(source)).split(sep);
      }
      case 'Fn::Sub': {
        const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
        const values = this.evaluate(vars ?? {});
        return String(text).replace(/\$\{([^}!]+)\}/g, (_m, expr: string) => {
          if (expr in values) return values[expr];
          if (expr.includes('.')) {
            const [id, attr] = expr.split(/\.(.+)/);
            return this.getAtt(id, attr);
          }
          return this.pseudo(expr) ?? this.parameter(expr) ?? this.ref(expr);
        });
      }
      case 'Fn::FindInMap': {
        const [map, top, second] = this.evaluate(arg) as string[];
        const value = this.template.Mappings?.[map]?.[top]?.[second];
        if (value === undefined) throw new Error(`Fn::FindInMap: ${map}.${top}.${second} is not in the template's Mappings`);
        return this.evaluate(value);
      }
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map(z => `${this.env.region}${z}`);
      case 'Fn::Base64':
        return Buffer.from(String(this.evaluate(arg))).toString('base64');
      case 'Fn::If': {
        const [condition, whenTrue, whenFalse] = arg;
        return this.condition(condition) ? this.evaluate(whenTrue) : this.evaluate(whenFalse);
      }
      case 'Fn::Equals': {
        const [a, b] = this.evaluate(arg);
        return JSON.stringify(a) === JSON.stringify(b);
      }
      case 'Fn::Not':
        return !this.truthy(arg[0]);
      case 'Fn::And':
        return (arg as unknown[]).every(c => this.truthy(c));
      case 'Fn::Or':
        return (arg as unknown[]).some(c => this.truthy(c));
      case 'Condition':
        return this.condition(arg);
      case 'Fn::ImportValue':
        return this.importValue(String(this.evaluate(arg)));
      default:
        throw new Error(`intrinsic ${name} is not modelled`);
    }
  }

  private truthy(value: unknown): boolean {
    return Boolean(this.evaluate(value));
  }

  private condition(name: string): boolean {
    const expression = this.template.Conditions?.[name];
    if (expression === undefined) {
      throw new Error(`no condition ${name}`);
    }
    return this.truthy(expression);
  }

  private parameter(name: string): unknown {
    const parameter = this.template.Parameters?.[name];
    return parameter ? parameter.Default ?? `<parameter ${name}>` : undefined;
  }

  private pseudo(name: string): any {
    switch (name) {
      case 'AWS::AccountId': return this.env.account;
      case 'AWS::Region': return this.env.region;
      case 'AWS::Partition': return this.env.partition;
      case 'AWS::URLSuffix': return 'amazonaws.com';
      case 'AWS::StackName': return this.env.stackName;
      case 'AWS::StackId': return this.stackId;
      case 'AWS::NoValue': return NO_VALUE;
      default: return undefined;
    }
  }
}

/** `AWS::NoValue`: the property is left out. */
const NO_VALUE = Symbol('AWS::NoValue');

/** A stable id in the style of a resource type (`sg-0123abcd...`), from the logical id. */
export function shortId(prefix: string, logicalId: string): string {
  return `${prefix}-${hash(logicalId).slice(0, 17)}`;
}

/** DMS resource ids: 26 upper-case letters and digits. */
function dmsResourceId(logicalId: string): string {
  return hash(logicalId).toUpperCase().replace(/[^A-Z0-9]/g, '').slice(0, 26);
}

function hash(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}

/** A UUID made from `text` (stack ids). */
export function uuid(text: string): string {
  const h = hash(text);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The six random characters Secrets Manager appends to a secret name in its ARN. */
export function secretSuffix(name: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...hash(name).slice(0, 6)].map(c => alphabet[parseInt(c, 16) * 3 % alphabet.length]).join('');
}

/** The public address an Elastic IP gets: documentation range 198.51.100.0/24. */
function publicIp(logicalId: string): string {
  return `198.51.100.${parseInt(hash(logicalId).slice(0, 2), 16) % 250 + 1}`;
}

function arn(d: DeployedTemplate, service: string, resource: string, region = d.env.region, account = d.env.account): string {
  return `arn:${d.env.partition}:${service}:${region}:${account}:${resource}`;
}

/** The name CloudFormation generates for a resource without an explicit name. */
function generatedName(d: DeployedTemplate, logicalId: string, maxLength = 64): string {
  const suffix = hash(`${d.env.stackName}/${logicalId}`).slice(0, 12).toUpperCase();
  return `${d.env.stackName}-${logicalId}`.slice(0, maxLength - suffix.length - 1) + `-${suffix}`;
}

function physicalId(d: DeployedTemplate, logicalId: string, resource: ResourceJson): string {
  const p = resource.Properties ?? {};
  const name = (prop: string, fallback: () => string): string => (p[prop] !== undefined ? String(d.evaluate(p[prop])) : fallback());
  switch (resource.Type) {
    case 'AWS::DMS::ReplicationTask': return arn(d, 'dms', `task:${dmsResourceId(logicalId)}`);
    case 'AWS::DMS::Endpoint': return arn(d, 'dms', `endpoint:${dmsResourceId(logicalId)}`);
    case 'AWS::DMS::ReplicationInstance': return arn(d, 'dms', `rep:${dmsResourceId(logicalId)}`);
    case 'AWS::DMS::Certificate': return arn(d, 'dms', `cert:${dmsResourceId(logicalId)}`);
    case 'AWS::DMS::EventSubscription': return name('SubscriptionName', () => logicalId.toLowerCase());
    case 'AWS::DMS::ReplicationSubnetGroup': return name('ReplicationSubnetGroupIdentifier', () => logicalId.toLowerCase());
    case 'AWS::DMS::ReplicationConfig': return d.getAtt(logicalId, 'ReplicationConfigArn');
    case 'AWS::SecretsManager::Secret': {
      const secretName = name('Name', () => generatedName(d, logicalId));
      return arn(d, 'secretsmanager', `secret:${secretName}-${secretSuffix(secretName)}`);
    }
    // Ref of an attachment is the ARN of the secret it attaches
    case 'AWS::SecretsManager::SecretTargetAttachment': return d.property(logicalId, 'SecretId');
    case 'AWS::IAM::Role': return name('RoleName', () => generatedName(d, logicalId));
    case 'AWS::IAM::Policy': return generatedName(d, logicalId);
    case 'AWS::IAM::ManagedPolicy': return `arn:${d.env.partition}:iam::${d.env.account}:policy/${name('ManagedPolicyName', () => generatedName(d, logicalId))}`;
    case 'AWS::KMS::Key': return uuid(`${d.env.stackName}/${logicalId}`);
    case 'AWS::KMS::Alias': return name('AliasName', () => `alias/${logicalId}`);
    case 'AWS::Lambda::Function': return name('FunctionName', () => generatedName(d, logicalId));
    case 'AWS::Logs::LogGroup': return name('LogGroupName', () => generatedName(d, logicalId, 512));
    case 'AWS::SNS::Topic': return arn(d, 'sns', name('TopicName', () => generatedName(d, logicalId)));
    case 'AWS::StepFunctions::StateMachine': return arn(d, 'states', `stateMachine:${name('StateMachineName', () => generatedName(d, logicalId))}`);
    case 'AWS::Events::Rule': return name('Name', () => generatedName(d, logicalId));
    case 'AWS::CloudWatch::Alarm': return name('AlarmName', () => generatedName(d, logicalId, 255));
    case 'AWS::CloudWatch::Dashboard': return name('DashboardName', () => generatedName(d, logicalId));
    case 'AWS::RDS::DBInstance': return name('DBInstanceIdentifier', () => generatedName(d, logicalId, 63)).toLowerCase();
    case 'AWS::RDS::DBSubnetGroup': return name('DBSubnetGroupName', () => generatedName(d, logicalId)).toLowerCase();
    case 'AWS::RDS::DBParameterGroup': return generatedName(d, logicalId).toLowerCase();
    case 'AWS::EC2::VPC': return shortId('vpc', logicalId);
    case 'AWS::EC2::Subnet': return shortId('subnet', logicalId);
    case 'AWS::EC2::SecurityGroup': return shortId('sg', logicalId);
    case 'AWS::EC2::RouteTable': return shortId('rtb', logicalId);
    case 'AWS::EC2::InternetGateway': return shortId('igw', logicalId);
    case 'AWS::EC2::NatGateway': return shortId('nat', logicalId);
    case 'AWS::EC2::VPCEndpoint': return shortId('vpce', logicalId);
    case 'AWS::EC2::EIP': return publicIp(logicalId);
    case 'AWS::EC2::FlowLog': return shortId('fl', logicalId);
    case 'AWS::CodeBuild::Project': return name('Name', () => generatedName(d, logicalId, 150));
    case 'AWS::S3::Bucket': return name('BucketName', () => generatedName(d, logicalId, 63).toLowerCase());
    case 'AWS::DMS::DataProvider': return d.getAtt(logicalId, 'DataProviderArn');
    case 'AWS::DMS::InstanceProfile': return d.getAtt(logicalId, 'InstanceProfileArn');
    case 'AWS::DMS::MigrationProject': return d.getAtt(logicalId, 'MigrationProjectArn');
    case 'AWS::CloudFormation::WaitConditionHandle': return d.waitConditionUrl(logicalId);
    default:
      if (resource.Type.startsWith('Custom::') || resource.Type === 'AWS::CloudFormation::CustomResource') {
        return d.optionalCustomAttribute(logicalId, 'PhysicalResourceId') ?? `${logicalId}-physical-id`;
      }
      return generatedName(d, logicalId);
  }
}

function attributeOf(d: DeployedTemplate, logicalId: string, resource: ResourceJson, attribute: string): any {
  const p = resource.Properties ?? {};
  switch (`${resource.Type}.${attribute}`) {
    case 'AWS::IAM::Role.Arn': return `arn:${d.env.partition}:iam::${d.env.account}:role/${d.ref(logicalId)}`;
    case 'AWS::IAM::Role.RoleId': return `AROA${dmsResourceId(logicalId).slice(0, 17)}`;
    case 'AWS::KMS::Key.Arn': return arn(d, 'kms', `key/${d.ref(logicalId)}`);
    case 'AWS::KMS::Key.KeyId': return d.ref(logicalId);
    case 'AWS::Lambda::Function.Arn': return arn(d, 'lambda', `function:${d.ref(logicalId)}`);
    case 'AWS::Logs::LogGroup.Arn': return arn(d, 'logs', `log-group:${d.ref(logicalId)}:*`);
    case 'AWS::SNS::Topic.TopicArn': return d.ref(logicalId);
    case 'AWS::SNS::Topic.TopicName': return d.ref(logicalId).split(':').pop();
    case 'AWS::Events::Rule.Arn': return arn(d, 'events', `rule/${d.ref(logicalId)}`);
    case 'AWS::CodeBuild::Project.Arn': return arn(d, 'codebuild', `project/${d.ref(logicalId)}`);
    case 'AWS::S3::Bucket.Arn': return `arn:${d.env.partition}:s3:::${d.ref(logicalId)}`;
    case 'AWS::CloudWatch::Alarm.Arn': return arn(d, 'cloudwatch', `alarm:${d.ref(logicalId)}`);
    case 'AWS::StepFunctions::StateMachine.Arn': return d.ref(logicalId);
    case 'AWS::StepFunctions::StateMachine.Name': return d.ref(logicalId).split(':').pop();
    case 'AWS::DMS::ReplicationConfig.ReplicationConfigArn': return arn(d, 'dms', `replication-config:${dmsResourceId(logicalId)}`);
    case 'AWS::DMS::DataProvider.DataProviderArn': return arn(d, 'dms', `data-provider:${dmsResourceId(logicalId)}`);
    case 'AWS::DMS::InstanceProfile.InstanceProfileArn': return arn(d, 'dms', `instance-profile:${dmsResourceId(logicalId)}`);
    case 'AWS::DMS::MigrationProject.MigrationProjectArn': return arn(d, 'dms', `migration-project:${dmsResourceId(logicalId)}`);
    case 'AWS::S3::Bucket.Arn': return `arn:${d.env.partition}:s3:::${d.ref(logicalId)}`;
    case 'AWS::S3::Bucket.RegionalDomainName': return `${d.ref(logicalId)}.s3.${d.env.region}.amazonaws.com`;
    case 'AWS::S3::Bucket.DomainName': return `${d.ref(logicalId)}.s3.amazonaws.com`;
    case 'AWS::DMS::ReplicationInstance.ReplicationInstancePrivateIpAddresses': return '10.0.3.10';
    case 'AWS::EC2::VPC.CidrBlock': return d.evaluate(p.CidrBlock);
    case 'AWS::EC2::VPC.VpcId': return d.ref(logicalId);
    case 'AWS::EC2::VPC.DefaultSecurityGroup': return shortId('sg', `${logicalId}/default`);
    case 'AWS::EC2::Subnet.SubnetId': return d.ref(logicalId);
    case 'AWS::EC2::Subnet.AvailabilityZone': return d.evaluate(p.AvailabilityZone);
    case 'AWS::EC2::SecurityGroup.GroupId': return d.ref(logicalId);
    case 'AWS::EC2::SecurityGroup.VpcId': return d.evaluate(p.VpcId);
    case 'AWS::EC2::EIP.AllocationId': return shortId('eipalloc', logicalId);
    case 'AWS::EC2::EIP.PublicIp': return d.ref(logicalId);
    case 'AWS::EC2::InternetGateway.InternetGatewayId': return d.ref(logicalId);
    case 'AWS::EC2::NatGateway.NatGatewayId': return d.ref(logicalId);
    case 'AWS::EC2::RouteTable.RouteTableId': return d.ref(logicalId);
    case 'AWS::EC2::VPCEndpoint.Id': return d.ref(logicalId);
    case 'AWS::RDS::DBInstance.Endpoint.Address': return `${d.ref(logicalId)}.abcdefghijkl.${d.env.region}.rds.amazonaws.com`;
    case 'AWS::RDS::DBInstance.Endpoint.Port': return String(d.evaluate(p.Port ?? '5432'));
    case 'AWS::RDS::DBInstance.DBInstanceArn': return arn(d, 'rds', `db:${d.ref(logicalId)}`);
    case 'AWS::SecretsManager::Secret.Id': return d.ref(logicalId);
    case 'AWS::CloudFormation::WaitCondition.Data': return '{}';
    default:
      if (resource.Type.startsWith('Custom::') || resource.Type === 'AWS::CloudFormation::CustomResource') {
        return d.customAttribute(logicalId, attribute);
      }
      throw new Error(`Fn::GetAtt ${resource.Type}.${attribute} (${logicalId}) is not modelled`);
  }
}
