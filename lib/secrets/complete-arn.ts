import * as crypto from 'crypto';
import { Annotations, CustomResource, Lazy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct } from 'constructs';
import { SECRET_ARNS_TYPE } from './kinds';
import { MigrationProvider } from '../provider/provider';

/**
 * What Secrets Manager takes for the random suffix of a complete ARN: a hyphen and six characters.
 * A partial ARN made from a name ending like this is read as a complete ARN and finds nothing
 * (Secrets Manager troubleshooting, "ARN_secretnamehyphen").
 */
const ARN_SUFFIX = /-[A-Za-z0-9]{6}$/;

/**
 * The complete ARN of `secret`, to hand to DMS (`SecretsManagerSecretId`) and to the handlers.
 * A secret of the app or imported with its complete ARN has it at synth time; for a secret imported
 * by name or partial ARN, the stack's `Custom::NeonDmsSecretArns` resource (shared provider) looks it
 * up at deploy time (`DescribeSecret`).
 *
 * @param property the construct property the secret was given in, for messages
 * @internal
 */
export function completeSecretArn(scope: IConstruct, secret: secretsmanager.ISecret, property: string): string {
  const full = secret.secretFullArn;
  if (full !== undefined) {
    return full;
  }
  const name = nameOf(secret);
  if (!Token.isUnresolved(name) && ARN_SUFFIX.test(name)) {
    Annotations.of(scope).addWarningV2('cdk-neon-migration:secretNameLooksLikeArnSuffix',
      `${property}: the secret name '${name}' ends in a hyphen and six characters, which Secrets Manager takes for the random `
      + 'suffix of a complete ARN: a partial ARN made from it (what secret.secretArn holds) finds no secret. This construct looks up the '
      + 'complete ARN at deploy time, but other code given secret.secretArn will fail. Rename the secret, or import it with '
      + 'Secret.fromSecretCompleteArn.');
  }
  return SecretArns.of(scope).resolve(secret, property);
}

/**
 * The resource ARN IAM policies name for `secret`: its complete ARN, or its partial ARN followed by
 * `-??????` (the six characters Secrets Manager appends), which matches the complete ARN.
 *
 * @internal
 */
export function secretArnForPolicies(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? `${secret.secretArn}-??????`;
}

/**
 * The stack's one `Custom::NeonDmsSecretArns` resource: it looks up the complete ARN of every secret
 * of the stack known only by name (one attribute per secret), so adding a secret adds no resource,
 * and the shared handler role's one `secretsmanager:DescribeSecret` statement names each secret.
 */
class SecretArns extends Construct {
  public static readonly ID = 'NeonDmsSecretArns';

  public static of(scope: IConstruct): SecretArns {
    const stack = Stack.of(scope);
    return (stack.node.tryFindChild(SecretArns.ID) as SecretArns | undefined) ?? new SecretArns(stack, SecretArns.ID);
  }

  private readonly resource: CustomResource;
  /** Attribute name → what to look up. */
  private readonly secrets = new Map<string, { SecretId: string; Property: string }>();
  private readonly statement = new iam.PolicyStatement({ actions: ['secretsmanager:DescribeSecret'] });
  private readonly patterns = new Set<string>();

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    const provider = MigrationProvider.of(this);
    // imported secrets are no resources of the stack: the statement can go to the shared default policy
    provider.grantOnce('secretsmanager:DescribeSecret', () => [this.statement]);
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: SECRET_ARNS_TYPE,
      properties: {
        Secrets: Lazy.any({ produce: () => Object.fromEntries([...this.secrets.entries()].sort(([a], [b]) => a.localeCompare(b))) }),
      },
    });
  }

  /** The complete ARN of `secret`, looked up at deploy time. */
  public resolve(secret: secretsmanager.ISecret, property: string): string {
    const stack = Stack.of(this);
    const secretId = secretIdOf(secret);
    const key = JSON.stringify(stack.resolve(secretId));
    const attribute = `Arn${crypto.createHash('sha256').update(key).digest('hex').slice(0, 12).toUpperCase()}`;
    if (!this.secrets.has(attribute)) {
      this.secrets.set(attribute, { SecretId: secretId, Property: property });
      const pattern = secretArnForPolicies(secret);
      const patternKey = JSON.stringify(stack.resolve(pattern));
      if (!this.patterns.has(patternKey)) {
        this.patterns.add(patternKey);
        this.statement.addResources(pattern);
      }
    }
    return this.resource.getAttString(attribute);
  }
}

/**
 * The secret's name as given: the resource part of a literal partial ARN (aws-cdk-lib takes a trailing
 * hyphen and six characters there for the random suffix and drops them), else `secretName`.
 */
function nameOf(secret: secretsmanager.ISecret): string {
  const arn = secret.secretArn;
  return !Token.isUnresolved(arn) && arn.includes(':secret:') ? arn.split(':secret:')[1] : secret.secretName;
}

/**
 * What to look the secret up by: its partial ARN (which also works across accounts), unless its name
 * ends like an ARN suffix or is only known at deploy time: then its name, which Secrets Manager never
 * misreads (in the stack's own account and Region).
 */
function secretIdOf(secret: secretsmanager.ISecret): string {
  const name = nameOf(secret);
  const literalArn = !Token.isUnresolved(secret.secretArn);
  return literalArn && !Token.isUnresolved(name) && !ARN_SUFFIX.test(name) ? secret.secretArn : name;
}
