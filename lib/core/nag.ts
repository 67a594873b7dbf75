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
