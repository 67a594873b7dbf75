import * as crypto from 'crypto';
import { Lazy, Names, Stack, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Checks a DMS resource identifier: begins with a letter, only ASCII letters, digits and hyphens,
 * no trailing hyphen and no two consecutive hyphens, at most `maxLength` characters. Returns it
 * lowercased (DMS stores identifiers in lowercase). Tokens are returned unchanged.
 *
 * @internal
 */
export function validateDmsIdentifier(owner: string, property: string, value: string, maxLength: number): string {
  if (Token.isUnresolved(value)) {
    return value;
  }
  const problems: string[] = [];
  if (value.length < 1 || value.length > maxLength) {
    problems.push(`be 1 to ${maxLength} characters long (it has ${value.length})`);
  }
  if (!/^[A-Za-z]/.test(value)) {
    problems.push('begin with a letter');
  }
  if (!/^[A-Za-z0-9-]*$/.test(value)) {
    problems.push('contain only ASCII letters, digits and hyphens');
  }
  if (value.endsWith('-')) {
    problems.push('not end with a hyphen');
  }
  if (value.includes('--')) {
    problems.push('not contain two consecutive hyphens');
  }
  if (problems.length > 0) {
    throw new Error(`${owner}: ${property} '${value}' must ${problems.join(', ')}.`);
  }
  return value.toLowerCase();
}

/**
 * A lowercase identifier derived from the construct path that satisfies the DMS identifier rules
 * and stays the same across synths.
 *
 * @internal
 */
export function generateDmsIdentifier(scope: IConstruct, maxLength: number): string {
  const unique = Names.uniqueResourceName(scope, { maxLength, separator: '-' })
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '')
    .replace(/-+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '');
  const withLetter = unique.length > 0 ? unique : 'dms';
  return withLetter.slice(0, maxLength).replace(/-+$/, '');
}

/**
 * Checks that a literal `arn` is the ARN of a DMS resource of `resourceType` (`endpoint`, `rep` for a
 * replication instance). Tokens are not checked.
 *
 * @internal
 */
export function validateDmsArn(owner: string, arn: string, property: string, resourceType: 'endpoint' | 'rep'): void {
  if (Token.isUnresolved(arn)) {
    return;
  }
  if (!new RegExp(`^arn:aws[a-z-]*:dms:[a-z0-9-]+:\\d{12}:${resourceType}:[A-Za-z0-9-]+$`).test(arn)) {
    throw new Error(`${owner}: ${property} '${arn}' is not a DMS ${resourceType === 'rep' ? 'replication instance' : 'endpoint'} ARN (arn:aws:dms:<region>:<account>:${resourceType}:<id>).`);
  }
}

/** Length of the suffix `replacementAwareIdentifier` appends: a hyphen and eight hex digits. */
const REPLACEMENT_SUFFIX_LENGTH = 9;

/**
 * A generated identifier for a DMS resource that changes whenever CloudFormation would replace the
 * resource: `generateDmsIdentifier`'s name followed by a hash of `key()`, the resolved values of
 * the resource's replacement-forcing properties (from the CloudFormation resource specification),
 * read from the L1 at synth (escape-hatch changes to those properties count). CloudFormation creates a
 * replacement before it deletes the resource it replaces, and DMS identifiers are unique per account
 * and Region: a replacement under the same name fails with "already exists".
 *
 * The identifier is a token that resolves to a literal string at synth.
 *
 * @internal
 */
export function replacementAwareIdentifier(scope: IConstruct, maxLength: number, key: () => Record<string, unknown>): string {
  const base = generateDmsIdentifier(scope, maxLength - REPLACEMENT_SUFFIX_LENGTH);
  return Lazy.string({ produce: () => `${base}-${replacementHash(scope, key())}` });
}

/** Eight hex digits of the SHA-256 of `key`'s resolved CloudFormation values. */
function replacementHash(scope: IConstruct, key: Record<string, unknown>): string {
  const resolved = Stack.of(scope).resolve(key);
  return crypto.createHash('sha256').update(JSON.stringify(resolved)).digest('hex').slice(0, 8);
}

const REPLACEMENT_KEYS = new WeakMap<IConstruct, () => Record<string, unknown>>();

/**
 * Records what replaces `resource` (the key its identifier is derived from), so that a resource
 * referring to it can include it in its own key: a task whose endpoint is replaced is replaced too
 * (its `SourceEndpointArn` changes at deploy time, while the template's `Ref` stays the same).
 *
 * @internal
 */
export function setReplacementKey(resource: IConstruct, key: () => Record<string, unknown>): void {
  REPLACEMENT_KEYS.set(resource, key);
}

/**
 * What replaces `resource`: its recorded key, or else `fallback` (e.g. the ARN of a resource created
 * elsewhere, which changes when it is replaced).
 *
 * @internal
 */
export function replacementKeyOf(resource: IConstruct, fallback: unknown): unknown {
  return REPLACEMENT_KEYS.get(resource)?.() ?? fallback;
}

/**
 * An identifier that may be a token resolving to a literal at synth (see
 * `replacementAwareIdentifier`): checked against DMS's rules once resolved.
 *
 * @internal
 */
export function validateResolvedIdentifier(scope: IConstruct, owner: string, property: string, value: string, maxLength: number): void {
  if (!Token.isUnresolved(value)) {
    return;
  }
  scope.node.addValidation({
    validate: () => {
      const resolved = Stack.of(scope).resolve(value);
      if (typeof resolved !== 'string') {
        return [`${owner}: ${property} must resolve to a literal string at synth (the stop before an update finds the resource by it), `
          + `got ${JSON.stringify(resolved)}.`];
      }
      try {
        validateDmsIdentifier(owner, property, resolved, maxLength);
        return [];
      } catch (e) {
        return [(e as Error).message];
      }
    },
  });
}

/**
 * The value of the L1 property `name` (camelCase) of `resource` as the template will have it: an
 * `addPropertyOverride` of it (kept by `CfnResource` in its raw overrides), else what props or
 * escape hatches set on the L1 object. Read untyped: older aws-cdk-lib releases lack some of these
 * properties.
 *
 * @internal
 */
export function l1Property(resource: IConstruct, name: string): unknown {
  const cloudFormationName = name.charAt(0).toUpperCase() + name.slice(1);
  const overrides = (resource as unknown as { rawOverrides?: { Properties?: Record<string, unknown> } }).rawOverrides?.Properties;
  if (overrides && cloudFormationName in overrides) {
    return overrides[cloudFormationName];
  }
  return (resource as unknown as Record<string, unknown>)[name];
}

