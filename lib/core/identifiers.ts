import { Names, Token } from 'aws-cdk-lib';
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
