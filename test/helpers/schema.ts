import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

/*
 * The parts of the @aws-cdk/service-spec-types model the validator reads, declared here so the
 * helper depends only on the shape of the data.
 */
type SpecType =
  | { readonly type: 'string' | 'number' | 'integer' | 'boolean' | 'json' | 'date-time' | 'null' | 'tag' }
  | { readonly type: 'ref'; readonly reference: { readonly $ref: string } }
  | { readonly type: 'array' | 'map'; readonly element: SpecType }
  | { readonly type: 'union'; readonly types: SpecType[] };

interface SpecProperty {
  readonly type: SpecType;
  readonly previousTypes?: SpecType[];
  readonly required?: boolean;
}

interface SpecShape {
  readonly properties: Record<string, SpecProperty>;
}

interface SpecLookup {
  resource(cloudFormationType: string): SpecShape | undefined;
  typeDefinition(id: string): SpecShape;
}

/** Resource types whose properties are free-form or that CloudFormation handles itself. */
const SKIPPED_TYPES = new Set(['AWS::CloudFormation::CustomResource', 'AWS::CDK::Metadata']);

let cachedSpec: SpecLookup | undefined;
let specLoadMillis: number | undefined;

/** Load the resource specification once per process. */
function spec(): SpecLookup {
  if (cachedSpec === undefined) {
    const start = Date.now();
    const db = loadAwsServiceSpecSync();
    specLoadMillis = Date.now() - start;
    cachedSpec = {
      resource: (cloudFormationType) => {
        const found = db.lookup('resource', 'cloudFormationType', 'equals', cloudFormationType);
        return found.length > 0 ? (found[0] as unknown as SpecShape) : undefined;
      },
      typeDefinition: (id) => db.get('typeDefinition', id) as unknown as SpecShape,
    };
  }
  return cachedSpec;
}

/** Milliseconds the first load of the resource specification took in this process (loads it if needed). */
export function specificationLoadMillis(): number {
  spec();
  return specLoadMillis!;
}

/**
 * Check every resource's `Properties` in a CloudFormation template against the
 * resource specification in @aws-cdk/aws-service-spec and return the problems found.
 *
 * Reports unknown resource types (`Custom::*` and `AWS::CloudFormation::CustomResource` are
 * skipped), unknown properties, missing required properties and values of the wrong type, at
 * any depth. Intrinsic functions (`Ref`, `Fn::*`) are accepted wherever a value is expected, and
 * numbers and booleans written as strings are accepted the way CloudFormation accepts them.
 */
export function validateTemplate(template: object): string[] {
  const resources = ((template as Record<string, unknown>).Resources ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (!isPlainObject(resource) || typeof resource.Type !== 'string') {
      problems.push(`${logicalId}: resource without a Type`);
      continue;
    }
    const type = resource.Type;
    if (type.startsWith('Custom::') || SKIPPED_TYPES.has(type)) {
      continue;
    }
    const model = spec().resource(type);
    const report = (message: string) => problems.push(`${logicalId} (${type}): ${message}`);
    if (model === undefined) {
      report('unknown resource type');
      continue;
    }
    const properties = resource.Properties ?? {};
    if (isIntrinsic(properties)) {
      continue;
    }
    if (!isPlainObject(properties)) {
      report('Properties must be an object');
      continue;
    }
    checkShape(model, properties, '', report);
  }
  return problems;
}

/** Fail listing every problem `validateTemplate` finds in the stack's template. */
export function expectValidCloudFormation(stack: Stack): void {
  const problems = validateTemplate(Template.fromStack(stack).toJSON());
  if (problems.length > 0) {
    throw new Error(`${problems.length} CloudFormation schema problem(s) in ${stack.node.path}:\n${problems.join('\n')}`);
  }
}

type Report = (message: string) => void;

function checkShape(shape: SpecShape, value: Record<string, unknown>, prefix: string, report: Report): void {
  for (const [name, property] of Object.entries(shape.properties)) {
    if (property.required && value[name] === undefined) {
      report(`missing required property ${prefix}${name}`);
    }
  }
  for (const [name, child] of Object.entries(value)) {
    const path = `${prefix}${name}`;
    const property = shape.properties[name];
    if (property === undefined) {
      report(`unknown property ${path}`);
      continue;
    }
    checkProperty(property, child, path, report);
  }
}

/** Accept the value if it fits the current type or any previous type of the property. */
function checkProperty(property: SpecProperty, value: unknown, path: string, report: Report): void {
  const candidates = [property.type, ...(property.previousTypes ?? [])];
  const attempts = candidates.map((type) => collect((r) => checkValue(type, value, path, r)));
  if (attempts.some((problems) => problems.length === 0)) {
    return;
  }
  attempts[0].forEach(report);
}

function checkValue(type: SpecType, value: unknown, path: string, report: Report): void {
  if (value === undefined || isIntrinsic(value)) {
    return;
  }
  const wrongType = (expected: string) => report(`wrong type for ${path}: expected ${expected}, got ${describe(value)}`);
  switch (type.type) {
    case 'string':
    case 'date-time':
      // CloudFormation converts scalars to strings.
      if (!isScalar(value)) wrongType(type.type);
      return;
    case 'integer':
      if (!(Number.isInteger(value) || (typeof value === 'string' && /^[-+]?\d+$/.test(value.trim())))) wrongType('integer');
      return;
    case 'number':
      if (!(typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))))) wrongType('number');
      return;
    case 'boolean':
      if (!(typeof value === 'boolean' || (typeof value === 'string' && /^(true|false)$/i.test(value)))) wrongType('boolean');
      return;
    case 'json':
      if (!(isPlainObject(value) || Array.isArray(value) || typeof value === 'string')) wrongType('json');
      return;
    case 'null':
      if (value !== null) wrongType('null');
      return;
    case 'tag':
      if (!isPlainObject(value)) {
        wrongType('tag');
        return;
      }
      checkShape(TAG_SHAPE, value, `${path}.`, report);
      return;
    case 'array':
      if (!Array.isArray(value)) {
        wrongType('array');
        return;
      }
      value.forEach((element, i) => checkValue(type.element, element, `${path}.${i}`, report));
      return;
    case 'map':
      if (!isPlainObject(value)) {
        wrongType('map');
        return;
      }
      for (const [key, element] of Object.entries(value)) {
        checkValue(type.element, element, `${path}.${key}`, report);
      }
      return;
    case 'ref':
      if (!isPlainObject(value)) {
        wrongType('object');
        return;
      }
      checkShape(spec().typeDefinition(type.reference.$ref), value, `${path}.`, report);
      return;
    case 'union': {
      const attempts = type.types.map((member) => collect((r) => checkValue(member, value, path, r)));
      if (attempts.some((problems) => problems.length === 0)) {
        return;
      }
      // Report against the member of the same kind as the value when there is one.
      const sameKind = attempts.find((problems) => !problems.some((p) => p.startsWith(`wrong type for ${path}:`)));
      (sameKind ?? attempts[0]).forEach(report);
      return;
    }
  }
}

const TAG_SHAPE: SpecShape = {
  properties: {
    Key: { type: { type: 'string' }, required: true },
    Value: { type: { type: 'string' }, required: true },
  },
};

function collect(check: (report: Report) => void): string[] {
  const problems: string[] = [];
  check((message) => problems.push(message));
  return problems;
}

/** `{ Ref: ... }`, `{ 'Fn::...': ... }` and `{ Condition: ... }` objects stand for values resolved at deploy time. */
function isIntrinsic(value: unknown): boolean {
  if (!isPlainObject(value)) {
    return false;
  }
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0] === 'Condition' || keys[0].startsWith('Fn::'));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'object';
  return `${typeof value} ${JSON.stringify(value)}`;
}
