import { spawn } from 'child_process';

/*
 * `npm test` after the bundles are built: jest (two workers) runs alongside the single-threaded
 * checks (type-check, eslint, integ snapshots), so that both cores stay busy while a check or a
 * test waits. Jest's output streams as it comes; the checks' output is printed when they end. The
 * command fails when either fails. Arguments are passed to jest.
 */

interface Outcome {
  readonly name: string;
  readonly code: number;
  readonly seconds: number;
  readonly output: string;
}

function run(name: string, commands: string[], stream: boolean): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    let output = '';
    const child = spawn('bash', ['-c', `set -e\n${commands.join('\n')}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    const take = (target: NodeJS.WriteStream) => (chunk: Buffer) => {
      if (stream) target.write(chunk);
      else output += chunk.toString();
    };
    child.stdout.on('data', take(process.stdout));
    child.stderr.on('data', take(process.stderr));
    child.on('close', (code) => resolve({ name, code: code ?? 1, seconds: (Date.now() - started) / 1000, output }));
  });
}

async function main(): Promise<void> {
  const quote = (arg: string) => `'${arg.replace(/'/g, "'\\''")}'`;
  const jestArgs = process.argv.slice(2).map(quote).join(' ');
  const [jest, checks] = await Promise.all([
    run('jest', [`npx jest --passWithNoTests --ci ${jestArgs}`], true),
    run('type-check, eslint and integ snapshots', ['npx projen typecheck', 'npx projen eslint', 'npx projen integ'], false),
  ]);
  process.stdout.write(`\n---- ${checks.name} (${checks.seconds.toFixed(0)} s) ----\n${checks.output}`);
  for (const outcome of [jest, checks]) {
    process.stdout.write(`${outcome.name}: ${outcome.code === 0 ? 'passed' : `FAILED (exit ${outcome.code})`} in ${outcome.seconds.toFixed(0)} s\n`);
  }
  process.exitCode = jest.code !== 0 || checks.code !== 0 ? 1 : 0;
}

void main();
