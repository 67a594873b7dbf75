import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** The role DMS assumes to read an endpoint's credentials, and what to grant to. */
export interface EndpointAccessRole {
  readonly role: iam.Role;
  /** Grants to it land in the role's inline policy. */
  readonly grantee: iam.IGrantable;
}

/**
 * A role for DMS (`servicePrincipal`, e.g. `dms.<region>.amazonaws.com`) whose permissions are an
 * inline policy of the role: one `AWS::IAM::Role` and no separate `AWS::IAM::Policy` per endpoint.
 * Grant with `grantee` (e.g. `secret.grantRead(grantee)`), not with the role.
 *
 * With `customerManagedKey` (the secret is encrypted with a KMS key of the app), grants go to the
 * role's default policy instead: the key policy names the role, and the role naming the secret,
 * which names the key, would close a dependency cycle.
 *
 * @internal
 */
export function createEndpointAccessRole(scope: Construct, id: string, servicePrincipal: string, description: string,
  customerManagedKey: boolean): EndpointAccessRole {
  const document = customerManagedKey ? undefined : new iam.PolicyDocument();
  const stack = Stack.of(scope);
  const role = new iam.Role(scope, id, {
    // Confused-deputy prevention: DMS may assume the role for this account's DMS resources only. DMS
    // documents no SourceArn for the Secrets Manager access role, so any DMS resource of the account
    // and Region; "IfExists" because DMS documents these keys only from engine 3.4.7 on.
    assumedBy: new iam.ServicePrincipal(servicePrincipal).withConditions({
      StringEqualsIfExists: { 'aws:SourceAccount': stack.account },
      ArnLikeIfExists: { 'aws:SourceArn': `arn:${stack.partition}:dms:${stack.region}:${stack.account}:*` },
    }),
    description,
    inlinePolicies: document ? { ReadCredentials: document } : undefined,
  });
  return { role, grantee: document ? new InlinePolicyPrincipal(role, document) : role };
}

/** The role as a principal whose added statements go to one of its inline policy documents. */
class InlinePolicyPrincipal implements iam.IPrincipal {
  public readonly grantPrincipal: iam.IPrincipal = this;
  public readonly assumeRoleAction: string;
  public readonly policyFragment: iam.PrincipalPolicyFragment;
  public readonly principalAccount?: string;

  constructor(private readonly role: iam.Role, private readonly document: iam.PolicyDocument) {
    this.assumeRoleAction = role.assumeRoleAction;
    this.policyFragment = role.policyFragment;
    this.principalAccount = role.principalAccount;
  }

  public addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    this.document.addStatements(statement);
    return { statementAdded: true, policyDependable: this.role };
  }

  public addToPolicy(statement: iam.PolicyStatement): boolean {
    return this.addToPrincipalPolicy(statement).statementAdded;
  }
}
