import * as dmsClient from '@aws-sdk/client-database-migration-service';

/**
 * Checks a request against the DMS API model the SDK ships (`@aws-sdk/client-database-migration-service`
 * exports each operation's schema as `<Operation>$`): every member known, every required member
 * present, strings, numbers, booleans and lists where the model has them, nested structures too.
 * Returns the problems found.
 */
export function dmsInputProblems(operation: string, input: unknown): string[] {
  return sdkInputProblems(dmsClient, 'DMS', operation, input);
}

/** The same check against the API model of any AWS SDK v3 client package (`sdk`), named `service` in messages. */
export function sdkInputProblems(sdk: object, service: string, operation: string, input: unknown): string[] {
  const op = (sdk as Record<string, unknown>)[`${operation}$`] as unknown[] | undefined;
  if (!Array.isArray(op) || op[0] !== 9) {
    return [`${operation} is not an operation of the ${service} API model`];
  }
  const problems: string[] = [];
  check(resolve(op[4]), input, operation, problems);
  return problems;
}

/** Fails listing the problems `dmsInputProblems` finds. */
export function expectDmsInput(operation: string, input: unknown): void {
  const problems = dmsInputProblems(operation, input);
  if (problems.length > 0) {
    throw new Error(`${operation} request does not fit the DMS API model:\n${problems.join('\n')}`);
  }
}

/** A member schema: a code, a schema array, a thunk returning one, or `[thunk, traits]`. */
function resolve(schema: unknown): unknown {
  if (typeof schema === 'function') return resolve(schema());
  if (Array.isArray(schema) && typeof schema[0] === 'function') return resolve(schema[0]);
  return schema;
}

function check(schema: unknown, value: unknown, path: string, problems: string[]): void {
  if (value === undefined) return;
  if (typeof schema === 'number') {
    checkSimple(schema, value, path, problems);
    return;
  }
  const s = schema as unknown[];
  switch (s[0]) {
    case 3: { // structure: [3, namespace, name, traits, memberNames, memberSchemas, requiredCount]
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        problems.push(`${path}: expected a ${String(s[2])} structure, got ${JSON.stringify(value)}`);
        return;
      }
      const names = s[4] as string[];
      const members = s[5] as unknown[];
      const required = (s[6] as number | undefined) ?? 0;
      for (const name of names.slice(0, required)) {
        if ((value as Record<string, unknown>)[name] === undefined) problems.push(`${path}: required member ${name} is missing`);
      }
      for (const [name, member] of Object.entries(value as Record<string, unknown>)) {
        const index = names.indexOf(name);
        if (index < 0) {
          problems.push(`${path}: ${String(s[2])} has no member ${name}`);
          continue;
        }
        check(resolve(members[index]), member, `${path}.${name}`, problems);
      }
      return;
    }
    case 1: // list: [1, namespace, name, traits, memberSchema]
      if (!Array.isArray(value)) {
        problems.push(`${path}: expected a list, got ${JSON.stringify(value)}`);
        return;
      }
      value.forEach((item, i) => check(resolve(s[4]), item, `${path}[${i}]`, problems));
      return;
    default:
      // maps, unions and documents: accepted as they are
  }
}

function checkSimple(code: number, value: unknown, path: string, problems: string[]): void {
  const expect = (ok: boolean, what: string) => {
    if (!ok) problems.push(`${path}: expected ${what}, got ${JSON.stringify(value)}`);
  };
  if (code === 0) {
    expect(typeof value === 'string', 'a string');
  } else if (code === 1) {
    expect(typeof value === 'number', 'a number');
  } else if (code === 2) {
    expect(typeof value === 'boolean', 'a boolean');
  } else if (code >= 64 && code < 128) {
    // a list of simple values: the list modifier 64 added to the member's code
    expect(Array.isArray(value), 'a list');
    if (Array.isArray(value)) value.forEach((v, i) => checkSimple(code - 64, v, `${path}[${i}]`, problems));
  }
}
