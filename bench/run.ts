/**
 * `npm run bench`: measures the library and prints one Markdown table per topic;
 * the same tables are written to docs/benchmarks.md.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { benchFidelitySections } from './fidelity';
import { benchHandlers } from './handlers';
import { benchMySqlFidelitySections } from './mysql-fidelity';
import { benchScaleSections } from './scale';
import { benchSchemaSections } from './schema';
import { benchSynth } from './synth';

export interface BenchRow {
  readonly name: string;
  readonly value: string;
  readonly note?: string;
}

export interface BenchSection {
  readonly title: string;
  readonly rows: BenchRow[];
}

export function renderTable(section: BenchSection): string {
  const lines = [`### ${section.title}`, '', '| measure | value | note |', '| --- | --- | --- |'];
  for (const row of section.rows) {
    lines.push(`| ${row.name} | ${row.value} | ${row.note ?? ''} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const sections: BenchSection[] = [];
  const only = process.argv.slice(2);
  const suites: Array<[string, () => Promise<BenchSection[]>]> = [
    ['handlers', benchHandlers],
    ['synth', benchSynth],
    ['fidelity', benchFidelitySections],
    ['fidelity-mysql', benchMySqlFidelitySections],
    ['schema', benchSchemaSections],
    ['scale', benchScaleSections],
  ];
  for (const [name, run] of suites) {
    if (only.length === 0 || only.includes(name)) {
      sections.push(...await run());
    }
  }
  const header = [
    '# Benchmarks',
    '',
    `Measured by \`npm run bench\` on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}.`,
    '',
  ].join('\n');
  const body = sections.map(renderTable).join('\n\n') || '_No benchmark suites yet._';
  const doc = `${header}\n${body}\n`;
  console.log(doc);
  if (only.length === 0) {
    fs.mkdirSync(path.join(__dirname, '..', 'docs'), { recursive: true });
    fs.writeFileSync(path.join(__dirname, '..', 'docs', 'benchmarks.md'), doc);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
