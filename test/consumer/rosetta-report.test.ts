import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { rosettaReport } from '../../projenrc/rosetta-report';

/*
 * The count CI prints after `jsii-rosetta extract --strict`: every README and JSDoc example compiled
 * and translated into each jsii language.
 */

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rosetta-report-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const ALL = { python: { source: 'x = 1' }, java: { source: 'int x;' }, csharp: { source: 'int x;' }, go: { source: 'x := 1' } };

function tablet(snippets: Record<string, unknown>): string {
  const file = path.join(dir, '.jsii.tabl.json');
  fs.writeFileSync(file, JSON.stringify({ version: '2', toolVersion: '6.0.0', snippets }));
  return file;
}

test('counts README and JSDoc examples and their translations per language', () => {
  const file = tablet({
    a: { translations: ALL, didCompile: true, location: { api: { api: 'moduleReadme', moduleFqn: 'cdk-neon-migration' } } },
    b: { translations: ALL, didCompile: true, location: { api: { api: 'type', fqn: 'cdk-neon-migration.DmsMigrationTask' } } },
  });
  expect(rosettaReport(file)).toEqual({
    lines: [
      'rosetta: 2 examples (1 in README.md, 1 in JSDoc), 2 compiled in strict mode',
      '| language | translated |',
      '| --- | --- |',
      '| Python | 2 of 2 |',
      '| Java | 2 of 2 |',
      '| C# | 2 of 2 |',
      '| Go | 2 of 2 |',
    ],
    problems: [],
  });
});

test('an example that did not compile, or lacks a language, is a problem', () => {
  const { python, java, csharp } = ALL;
  const file = tablet({
    a: { translations: ALL, didCompile: false, location: { api: { api: 'moduleReadme' } } },
    b: { translations: { python, java, csharp }, didCompile: true },
  });
  expect(rosettaReport(file).problems).toEqual(['1 example(s) did not compile', '1 example(s) have no Go translation']);
});

test('no tablet, or an empty one, proves nothing', () => {
  expect(rosettaReport(path.join(dir, 'missing.json')).problems).toEqual([
    `${path.join(dir, 'missing.json')} does not exist: run jsii-rosetta extract --strict after the jsii compile`,
  ]);
  expect(rosettaReport(tablet({})).problems).toEqual(['the tablet holds no example']);
});
