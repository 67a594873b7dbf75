import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as ts from 'typescript';

/*
 * A README example run as a CDK app: each `declare const <name>: <type>;` of the example gets a real
 * value (a fresh app, stack, VPC and RDS for PostgreSQL database), `cdk-neon-migration` is the library
 * in lib/, and the code runs as written.
 */

/** What an example may declare, keyed by `<name>: <type>` exactly as the example writes it. */
export interface ExampleWorld {
  readonly app: App;
  readonly stack: Stack;
  readonly values: Readonly<Record<string, () => unknown>>;
}

/**
 * A fresh app with the stack a README example builds in, and the source as most teams have it: a VPC
 * made by `new ec2.Vpc` with its defaults (public subnets, private subnets behind NAT gateways) and RDS
 * for PostgreSQL 16 in its private subnets with logical replication on.
 */
export function exampleWorld(stackName = 'Example'): ExampleWorld {
  const app = new App();
  const stack = new Stack(app, stackName);
  let vpc: ec2.Vpc | undefined;
  let database: rds.DatabaseInstance | undefined;
  const sourceVpc = () => (vpc ??= new ec2.Vpc(stack, 'Vpc'));
  const postgres = () => {
    const engine = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 });
    return database ??= new rds.DatabaseInstance(stack, 'Database', {
      engine,
      vpc: sourceVpc(),
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      parameterGroup: new rds.ParameterGroup(stack, 'DatabaseParameters', { engine, parameters: { 'rds.logical_replication': '1' } }),
    });
  };
  return {
    app,
    stack,
    values: {
      'stack: Stack': () => stack,
      'vpc: ec2.IVpc': sourceVpc,
      'vpc: ec2.Vpc': sourceVpc,
      'database: rds.DatabaseInstance': postgres,
      'database: rds.IDatabaseInstance': postgres,
    },
  };
}

/** The `declare const` lines of `code`: `{ line, key }`, the key being `<name>: <type>`. */
export function declarationsOf(code: string): { line: string; name: string; key: string }[] {
  return code.split('\n').filter((l) => /^\s*declare\b/.test(l)).map((line) => {
    const m = /^\s*declare\s+const\s+([A-Za-z_$][\w$]*)\s*:\s*([^;=]+?)\s*;\s*(\/\/.*)?$/.exec(line);
    if (!m) throw new Error(`the example declares something that cannot be given a value: \`${line.trim()}\` (write \`declare const <name>: <type>;\`)`);
    return { line, name: m[1], key: `${m[1]}: ${m[2].replace(/\s+/g, ' ')}` };
  });
}

/**
 * Runs `code` (TypeScript, as the README writes it) in `world`: its declarations take the world's
 * values, its imports of `cdk-neon-migration` the library in lib/. Fails naming a declaration the world
 * has no value for.
 */
export function runExample(code: string, world: ExampleWorld): void {
  let body = code;
  const declared = declarationsOf(code);
  const unknown = declared.filter((d) => !(d.key in world.values));
  if (unknown.length > 0) {
    throw new Error(`the example declares ${unknown.map((d) => `\`${d.key}\``).join(', ')}, which test/docs/run-example.ts has no value for `
      + `(it has ${Object.keys(world.values).map((k) => `\`${k}\``).join(', ')})`);
  }
  for (const d of declared) {
    body = body.replace(d.line, () => `const ${d.name} = __values[${JSON.stringify(d.key)}]();`);
  }
  const js = ts.transpileModule(body, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  }).outputText;
  const load = (id: string): unknown => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return id === 'cdk-neon-migration' ? require('../../lib') : require(id);
  };
  const module = { exports: {} };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  new Function('require', 'module', 'exports', '__values', js)(load, module, module.exports, world.values);
}
