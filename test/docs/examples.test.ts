import { docFiles, fencedBlocks, isTypeScript, readDoc } from './doc-files';
import { CompiledExample, compileExamples, Example, jsdocExamples, markdownExamples } from './rosetta-compile';

/*
 * Every ```ts block of README.md and docs/*.md, and every JSDoc @example under lib/, compiles in
 * rosetta's strict mode against the library as it is, and translates into Python, Java, C# and Go.
 * A block that is not TypeScript says what it is in its fence (bash, text, json, ...).
 */

const FILES = docFiles();
/** Fence languages of blocks that are not compiled: what each is must be plain. */
const NOT_CODE = ['bash', 'sh', 'text', 'json', 'sql', 'dot'];

const MINUTES = 60_000;

let examples: Example[];
let compiled: Map<string, CompiledExample>;

beforeAll(() => {
  examples = [...FILES.flatMap((f) => markdownExamples(f)), ...jsdocExamples()];
  compiled = new Map(compileExamples(examples).map((c) => [c.where, c]));
}, 10 * MINUTES);

describe('the examples of the pages', () => {
  test.each(FILES)('%s: every fenced block names its language: ts (compiled), or one that says it is not code', (file) => {
    const unnamed = fencedBlocks(readDoc(file), file)
      .filter((b) => !isTypeScript(b) && !NOT_CODE.includes(b.language))
      .map((b) => `${file}:${b.line} \`\`\`${b.info}`);
    expect(unnamed).toEqual([]);
  });

  test.each(FILES)('%s: rosetta compiles each of its ```ts blocks (none is skipped)', (file) => {
    const blocks = fencedBlocks(readDoc(file), file).filter(isTypeScript);
    const found = examples.filter((e) => e.where.startsWith(`${file}:`));
    expect(found.length).toBe(blocks.length);
  });

  test('the README and the guides hold examples, and so does the JSDoc', () => {
    expect(examples.filter((e) => e.where.startsWith('README.md:')).length).toBeGreaterThanOrEqual(3);
    expect(examples.filter((e) => e.where.startsWith('docs/')).length).toBeGreaterThanOrEqual(20);
    expect(examples.filter((e) => e.where.startsWith('lib/')).length).toBeGreaterThanOrEqual(15);
    expect(compiled.size).toBe(examples.length);
  });

  test('every example compiles in strict mode and translates into Python, Java, C# and Go', () => {
    const broken = [...compiled.values()]
      .filter((c) => c.errors.length > 0 || c.translated.length < 4)
      .map((c) => `${c.where}:\n  ${[...c.errors, ...(c.translated.length < 4 ? [`translated into ${c.translated.join(', ') || 'nothing'} only`] : [])].join('\n  ')}`);
    expect(broken).toEqual([]);
  });
});
