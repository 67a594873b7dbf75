import { App, Environment, PolicyValidationPluginReport, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, NagPack, NIST80053R5Checks } from 'cdk-nag';
import { IConstruct } from 'constructs';

/** A finding a single test accepts, with the reason it does not apply. */
export interface NagAcknowledgement {
  /**
   * Rule id as cdk-nag reports it, matched exactly: `AwsSolutions-S1`, or one finding of a
   * rule that reports several, `AwsSolutions-IAM5[Resource::*]`.
   */
  readonly id: string;
  /** Why the finding is acceptable (at least 10 characters). */
  readonly reason: string;
  /** Regular expression the construct path of the finding must match; every path when absent. */
  readonly pathPattern?: string;
}

/** One unacknowledged finding. */
export interface NagFinding {
  readonly ruleName: string;
  readonly constructPath: string;
  readonly description: string;
}

/** The metadata key `acknowledgeRules` (lib/core/nag.ts) and `Validations.acknowledge()` write. */
const ACKNOWLEDGED_RULES_METADATA_KEY = 'aws:cdk:acknowledged-rules';
const MIN_REASON_LENGTH = 10;

/**
 * Run the AwsSolutions and NIST 800-53 R5 packs over `stack` and return every finding not
 * acknowledged in the construct tree or in `acknowledgements`.
 *
 * The packs are called directly with `validateScope`; they are never registered as policy
 * validation plugins, so nothing changes how the app synthesizes.
 */
export function nagFindings(stack: Stack, acknowledgements: NagAcknowledgement[] = []): NagFinding[] {
  const matchers = acknowledgements.map(compileAcknowledgement);
  checkTreeAcknowledgements(stack);

  // Synthesize first so aspects have run and the tree is final.
  Template.fromStack(stack);

  const packs: NagPack[] = [new AwsSolutionsChecks(), new NIST80053R5Checks()];
  const findings: NagFinding[] = [];
  for (const pack of packs) {
    const report: PolicyValidationPluginReport = pack.validateScope(stack);
    for (const violation of report.violations) {
      for (const resource of violation.violatingResources) {
        const constructPath = resource.constructPath ?? resource.resourceLogicalId ?? '(unknown)';
        if (matchers.some((m) => m.matches(violation.ruleName, constructPath))) {
          continue;
        }
        findings.push({ ruleName: violation.ruleName, constructPath, description: violation.description });
      }
    }
  }
  return findings;
}

/** A concrete account and Region: with them, ARNs in policies are literals instead of pseudo parameters. */
export const NAG_CONCRETE_ENV: Environment = { account: '123456789012', region: 'us-east-1' };

/** Builds the stack under test in `app`, environment-agnostic or in `env`. */
export type StackBuilder = (app: App, env?: Environment) => Stack;

/**
 * Fail unless cdk-nag's AwsSolutions and NIST 800-53 R5 packs report nothing beyond the findings
 * acknowledged in the construct tree or in `acknowledgements`, for the stack `build` makes both
 * environment-agnostic and in a concrete account and Region (acknowledgement ids name resources as
 * cdk-nag renders them, which differs between the two). Every acknowledgement needs a reason of at
 * least 10 characters.
 */
export function expectNagClean(build: StackBuilder, acknowledgements: NagAcknowledgement[] = []): void {
  for (const env of [undefined, NAG_CONCRETE_ENV]) {
    const stack = build(new App(), env);
    if (env && (Stack.of(stack).account !== env.account || Stack.of(stack).region !== env.region)) {
      throw new Error(`expectNagClean: the builder ignored the environment it was given (${stack.node.path} is in ${stack.account}/${stack.region})`);
    }
    expectStackNagClean(stack, acknowledgements);
  }
}

/**
 * `expectNagClean` for one stack as it is. Construct tests use `expectNagClean`, which also checks
 * the stack in a concrete environment.
 */
export function expectStackNagClean(stack: Stack, acknowledgements: NagAcknowledgement[] = []): void {
  const findings = nagFindings(stack, acknowledgements);
  if (findings.length === 0) {
    return;
  }
  const lines = findings.map((f) => `${f.ruleName}  ${f.constructPath}  ${f.description}`);
  throw new Error(`${findings.length} unacknowledged cdk-nag finding(s) in ${stack.node.path}:\n${lines.join('\n')}`);
}

interface AcknowledgementMatcher {
  matches(ruleName: string, constructPath: string): boolean;
}

function compileAcknowledgement(ack: NagAcknowledgement): AcknowledgementMatcher {
  if (!ack.id || ack.id.trim() !== ack.id) {
    throw new Error(`acknowledgement id '${ack.id}' must be a cdk-nag rule id such as AwsSolutions-S1`);
  }
  if (typeof ack.reason !== 'string' || ack.reason.trim().length < MIN_REASON_LENGTH) {
    throw new Error(`acknowledgement of ${ack.id} needs a reason of at least ${MIN_REASON_LENGTH} characters`);
  }
  const path = ack.pathPattern === undefined ? undefined : new RegExp(ack.pathPattern);
  return {
    matches: (ruleName, constructPath) => ruleName === ack.id && (path === undefined || path.test(constructPath)),
  };
}

/** Every acknowledgement written as construct metadata on the stack, its ancestors or its descendants needs a reason. */
function checkTreeAcknowledgements(stack: Stack): void {
  const constructs: IConstruct[] = [...stack.node.scopes, ...stack.node.findAll().slice(1)];
  const problems: string[] = [];
  for (const construct of constructs) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== ACKNOWLEDGED_RULES_METADATA_KEY) {
        continue;
      }
      const data = entry.data as Record<string, unknown> | undefined;
      if (data === null || typeof data !== 'object' || Object.keys(data).length === 0) {
        problems.push(`${construct.node.path}: acknowledgement metadata without any rule`);
        continue;
      }
      for (const [key, reason] of Object.entries(data)) {
        if (typeof reason !== 'string' || reason.trim().length < MIN_REASON_LENGTH) {
          const id = key.replace(/^annotation::/i, '');
          problems.push(`${construct.node.path}: acknowledgement of ${id} needs a reason of at least ${MIN_REASON_LENGTH} characters`);
        }
      }
    }
  }
  if (problems.length > 0) {
    throw new Error(`acknowledgements without a reason:\n${problems.join('\n')}`);
  }
}
