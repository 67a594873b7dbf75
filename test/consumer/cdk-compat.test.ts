import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import { findDeprecatedUses } from '../../projenrc/cdk-compat';

/** A fake aws-cdk-lib with deprecated and current API, as its .d.ts files declare them. */
const CDK_TYPES = `
export declare class CfnResource {
  /** @deprecated Use \`addResourceDependency\` instead. */
  addDependency(target: CfnResource): void;
  addResourceDependency(target: CfnResource): void;
  /** @deprecated the string form is deprecated: pass a number */
  setPort(port: string): void;
  setPort(port: number): void;
}
export interface VpcProps {
  /** @deprecated Use ipAddresses instead */
  readonly cidr?: string;
  readonly ipAddresses?: string;
}
export declare class Vpc { constructor(props: VpcProps); }
/** @deprecated use Vpc */
export declare class OldVpc {}
export declare enum Runtime {
  /** @deprecated end of life */
  NODEJS_16 = 'nodejs16.x',
  NODEJS_22 = 'nodejs22.x',
}
`;

const LIB = `
import { CfnResource, OldVpc, Runtime, Vpc } from 'aws-cdk-lib';
/** @deprecated the library's own deprecation is not aws-cdk-lib's */
export function own(): void {}
export function build(a: CfnResource, b: CfnResource): void {
  a.addDependency(b);
  a.addResourceDependency(b);
  a.setPort('80');
  a.setPort(80);
  new Vpc({ cidr: '10.0.0.0/16' });
  new Vpc({ ipAddresses: '10.0.0.0/16' });
  const old: OldVpc | undefined = undefined;
  void old;
  void Runtime.NODEJS_16;
  void Runtime.NODEJS_22;
  own();
}
`;

function uses() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deprecated-api-'));
  fs.mkdirSync(path.join(dir, 'node_modules', 'aws-cdk-lib'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'node_modules', 'aws-cdk-lib', 'package.json'), '{"name":"aws-cdk-lib","version":"2.999.0","types":"index.d.ts"}');
  fs.writeFileSync(path.join(dir, 'node_modules', 'aws-cdk-lib', 'index.d.ts'), CDK_TYPES);
  fs.mkdirSync(path.join(dir, 'lib'));
  fs.writeFileSync(path.join(dir, 'lib', 'construct.ts'), LIB);
  const program = ts.createProgram({
    rootNames: [path.join(dir, 'lib', 'construct.ts')],
    options: { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, types: [], ignoreDeprecations: '6.0' } as ts.CompilerOptions,
  });
  expect(ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
  const files = program.getSourceFiles().filter((f) => f.fileName.includes('/lib/'));
  try {
    return findDeprecatedUses(program, files, dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('uses of deprecated aws-cdk-lib API (projenrc/cdk-compat.ts)', () => {
  test('finds deprecated methods, overloads, props, classes and enum members of aws-cdk-lib, and nothing else', () => {
    expect(uses()).toEqual([
      { location: 'lib/construct.ts:2:23', api: 'OldVpc', message: 'use Vpc' },
      { location: 'lib/construct.ts:6:5', api: 'CfnResource.addDependency', message: 'Use `addResourceDependency` instead.' },
      { location: 'lib/construct.ts:8:3', api: 'CfnResource.setPort', message: 'the string form is deprecated: pass a number' },
      { location: 'lib/construct.ts:10:13', api: 'VpcProps.cidr', message: 'Use ipAddresses instead' },
      { location: 'lib/construct.ts:12:14', api: 'OldVpc', message: 'use Vpc' },
      { location: 'lib/construct.ts:14:16', api: 'Runtime.NODEJS_16', message: 'end of life' },
    ]);
  });
});
