/**
 * `npm run bench`: measures the library and prints one Markdown table per topic;
 * the same tables are written to docs/benchmarks.md.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { benchFidelitySections } from './fidelity';
import { benchHandlers } from './handlers';
import { benchKinds } from './kinds';
import { benchMySqlFidelitySections } from './mysql-fidelity';
import { benchScaleSections } from './scale';
import { benchSchemaSections } from './schema';
import { benchSynth } from './synth';
import { BenchSection, renderTable, updateDocument } from './table';

async function main(): Promise<void> {
  const measured: Array<[string, BenchSection[]]> = [];
  const only = process.argv.slice(2);
  const suites: Array<[string, () => Promise<BenchSection[]>]> = [
    ['handlers', benchHandlers],
    ['kinds', benchKinds],
    ['synth', benchSynth],
    ['fidelity', benchFidelitySections],
    ['fidelity-mysql', benchMySqlFidelitySections],
    ['schema', benchSchemaSections],
    ['scale', benchScaleSections],
  ];
  for (const [name, run] of suites) {
    if (only.length === 0 || only.includes(name)) {
      measured.push([name, await run()]);
    }
  }
  const file = path.join(__dirname, '..', 'docs', 'benchmarks.md');
  const header = [
    '# Benchmarks',
    '',
    `Measured by \`npm run bench\` on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}.`,
    'Each suite\'s tables are rewritten when it runs (`npm run bench -- <suite>` runs one);',
    'the text between them is kept.',
    '',
  ].join('\n');
  const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : header;
  console.log(measured.flatMap(([, sections]) => sections).map(renderTable).join('\n\n'));
  fs.writeFileSync(file, updateDocument(before, measured));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
