#!/usr/bin/env node
import { main } from './command-line/run';

/* The `cdk-neon-migration` command. */

export { main, loadDmsLatency } from './command-line/run';
export { parseArgs } from './command-line/args';
export type { CliError } from './command-line/errors';
export type { CliArgs } from './command-line/args';
export { usage } from './command-line/usage';

if (require.main === module) {
  void main(process.argv.slice(2), process.env, process.stdout, process.stderr).then((code) => {
    process.exitCode = code;
  });
}
