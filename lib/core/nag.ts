import { Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** A cdk-nag rule the constructs acknowledge, with the reason it does not apply. */
export interface RuleAcknowledgement {
  /** Rule id, e.g. `AwsSolutions-IAM5` or `AwsSolutions-IAM5[Resource::*]`. */
  readonly id: string;
  /** Why the finding is acceptable here. */
  readonly reason: string;
}

/**
 * The metadata key aws-cdk-lib's `Validations.acknowledge()` writes and cdk-nag 3 reads.
 * Written directly so the constructs keep working with aws-cdk-lib releases older than that API.
 */
const ACKNOWLEDGED_RULES_METADATA_KEY = 'aws:cdk:acknowledged-rules';

/**
 * Acknowledge policy-validation (cdk-nag) findings on a construct and everything below it.
 * Every acknowledgement carries a reason; an empty one is a programming error.
 */
export function acknowledgeRules(scope: IConstruct, rules: RuleAcknowledgement[]): void {
  const data: Record<string, string> = {};
  for (const rule of rules) {
    if (rule.reason.trim().length < 10) {
      throw new Error(`acknowledgement of ${rule.id} needs a real reason`);
    }
    data[`annotation::${rule.id}`] = rule.reason;
  }
  scope.node.addMetadata(ACKNOWLEDGED_RULES_METADATA_KEY, data);
}

/**
 * The id cdk-nag gives a finding about `value` (a resource ARN or managed policy ARN) under `rule`,
 * e.g. `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:dms:<AWS::Region>:<AWS::AccountId>:task:*]`
 * in an environment-agnostic stack and `AwsSolutions-IAM5[Resource::arn:aws:dms:us-east-1:123456789012:task:*]`
 * in a stack with a concrete account and Region: the value resolved in `scope`'s stack, with
 * references written the way cdk-nag flattens them.
 *
 * @param rule e.g. `AwsSolutions-IAM5`
 * @param kind `Resource` or `Policy`
 */
export function nagFindingId(scope: IConstruct, rule: string, kind: 'Resource' | 'Policy', value: string): string {
  return `${rule}[${kind}::${flattenReference(Stack.of(scope).resolve(value))}]`;
}

function flattenReference(node: unknown): string {
  if (node === undefined) {
    return '';
  }
  if (typeof node === 'string') {
    return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  }
  const value = node as Record<string, any>;
  if (value['Fn::Join']) {
    const [delimiter, items] = value['Fn::Join'];
    return (items as unknown[]).map(flattenReference).join(delimiter);
  }
  if (value['Fn::Sub']) {
    return flattenReference(value['Fn::Sub']);
  }
  if (value['Fn::GetAtt']) {
    const [resource, attribute] = value['Fn::GetAtt'];
    return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
  }
  if (value.Ref) {
    return `<${flattenReference(value.Ref)}>`;
  }
  return JSON.stringify(node);
}
