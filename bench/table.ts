/** One measured value of a benchmark table. */
export interface BenchRow {
  readonly name: string;
  readonly value: string;
  readonly note?: string;
}

/** One table of `npm run bench`'s output (a Markdown section of docs/benchmarks.md). */
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

const begin = (suite: string) => `<!-- bench:${suite} -->`;
const end = (suite: string) => `<!-- /bench:${suite} -->`;

/**
 * `doc` with the tables of each suite in `measured` written between that suite's markers (a suite
 * without markers yet is added at the end). The text outside the markers, and the suites not
 * measured this time, are kept as they were.
 */
export function updateDocument(doc: string, measured: ReadonlyArray<readonly [string, BenchSection[]]>): string {
  let result = doc;
  for (const [suite, sections] of measured) {
    const block = `${begin(suite)}\n${sections.map(renderTable).join('\n\n')}\n${end(suite)}`;
    const from = result.indexOf(begin(suite));
    const to = result.indexOf(end(suite));
    if (from >= 0 && to > from) {
      result = result.slice(0, from) + block + result.slice(to + end(suite).length);
    } else {
      result = `${result.trimEnd()}\n\n${block}\n`;
    }
  }
  return result;
}
