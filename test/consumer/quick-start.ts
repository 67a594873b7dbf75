/**
 * README's Quick start as a program: the first ```ts block under "## Quick start", with each
 * `declare const <name>: <type>;` given a real value from the fixture (./fixture.ts), keyed by
 * `<name>: <type>` as the README writes it.
 */

/** The heading the Quick start block is found under. */
export const QUICK_START_HEADING = '## Quick start';

/** A `declare const` of the Quick start. */
export interface Declaration {
  /** The whole line, as written. */
  readonly line: string;
  readonly name: string;
  /** The type, whitespace collapsed: `rds.DatabaseInstance`. */
  readonly type: string;
  /** The fixture key: `database: rds.DatabaseInstance`. */
  readonly key: string;
}

/** The first ```ts block of the "## Quick start" section of `readme`. */
export function quickStartCode(readme: string): string {
  const lines = readme.split('\n');
  const start = lines.findIndex((line) => line.trim() === QUICK_START_HEADING);
  if (start < 0) {
    throw new Error(`README.md has no "${QUICK_START_HEADING}" heading`);
  }
  const end = lines.findIndex((line, i) => i > start && /^#{1,2} /.test(line));
  const section = lines.slice(start + 1, end < 0 ? undefined : end);
  const open = section.findIndex((line) => /^```(ts|typescript)\s*$/.test(line.trim()));
  if (open < 0) {
    throw new Error(`the "${QUICK_START_HEADING}" section of README.md has no \`\`\`ts code block`);
  }
  const close = section.findIndex((line, i) => i > open && line.trim() === '```');
  if (close < 0) {
    throw new Error(`the \`\`\`ts block of "${QUICK_START_HEADING}" in README.md is not closed`);
  }
  return section.slice(open + 1, close).join('\n');
}

/** The `declare` statements of `code`; anything declared some other way is refused, naming the line. */
export function declarations(code: string): Declaration[] {
  const found: Declaration[] = [];
  for (const line of code.split('\n')) {
    if (!/^\s*declare\b/.test(line)) {
      continue;
    }
    const match = /^\s*declare\s+const\s+([A-Za-z_$][\w$]*)\s*:\s*([^;=]+?)\s*;\s*(\/\/.*)?$/.exec(line);
    if (!match) {
      throw new Error(`the Quick start declares something the consumer test cannot give a value to: \`${line.trim()}\` `
        + '(write it as `declare const <name>: <type>;`)');
    }
    const [, name, rawType] = match;
    const type = rawType.replace(/\s+/g, ' ');
    found.push({ line, name, type, key: `${name}: ${type}` });
  }
  return found;
}

/**
 * The Quick start as a compilable app: each declaration becomes `const <name>: <type> = <fixture>()`
 * (the README's type checks the fixture's value), and the fixture's app is synthesized at the end.
 * Fails naming every declaration `fixtureKeys` has no value for.
 */
export function quickStartApp(code: string, fixtureKeys: readonly string[], fixtureModule = './fixture'): string {
  const declared = declarations(code);
  const unknown = declared.filter((d) => !fixtureKeys.includes(d.key));
  if (unknown.length > 0) {
    throw new Error(`README's Quick start declares ${unknown.map((d) => `\`${d.line.trim()}\``).join(', ')}, `
      + `which test/consumer/fixture.ts has no value for: add ${unknown.map((d) => `'${d.key}'`).join(', ')} to FIXTURES `
      + `(it has ${fixtureKeys.map((k) => `'${k}'`).join(', ')}).`);
  }
  let body = code;
  for (const d of declared) {
    body = body.replace(d.line, () => `const ${d.name}: ${d.type} = quickStartFixture.FIXTURES[${JSON.stringify(d.key)}]();`);
  }
  return [
    `import * as quickStartFixture from ${JSON.stringify(fixtureModule)};`,
    body,
    'quickStartFixture.app.synth();',
    '',
  ].join('\n');
}
