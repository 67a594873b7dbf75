/**
 * Prints how many README and JSDoc examples jsii-rosetta compiled and translated, per language, from
 * the tablet `jsii-rosetta extract --strict` wrote next to the assembly (`.jsii.tabl.json`). Fails when
 * the tablet is missing, holds no example, or an example did not compile or lacks a translation.
 */
import * as fs from 'fs';
import * as path from 'path';

const LANGUAGES: Record<string, string> = { python: 'Python', java: 'Java', csharp: 'C#', go: 'Go' };

interface Snippet {
  readonly translations: Record<string, { source: string }>;
  readonly didCompile?: boolean;
  readonly location?: { api?: { api?: string; fqn?: string } };
}

export function rosettaReport(tabletFile: string): { lines: string[]; problems: string[] } {
  if (!fs.existsSync(tabletFile)) {
    return { lines: [], problems: [`${tabletFile} does not exist: run jsii-rosetta extract --strict after the jsii compile`] };
  }
  const snippets = Object.values(JSON.parse(fs.readFileSync(tabletFile, 'utf8')).snippets as Record<string, Snippet>);
  const problems: string[] = [];
  if (snippets.length === 0) {
    problems.push('the tablet holds no example');
  }
  const readme = snippets.filter(s => s.location?.api?.api === 'moduleReadme').length;
  const compiled = snippets.filter(s => s.didCompile === true).length;
  if (compiled !== snippets.length) {
    problems.push(`${snippets.length - compiled} example(s) did not compile`);
  }
  const lines = [
    `rosetta: ${snippets.length} examples (${readme} in README.md, ${snippets.length - readme} in JSDoc), ${compiled} compiled in strict mode`,
    '| language | translated |',
    '| --- | --- |',
  ];
  for (const [key, name] of Object.entries(LANGUAGES)) {
    const translated = snippets.filter(s => s.translations[key]?.source !== undefined).length;
    lines.push(`| ${name} | ${translated} of ${snippets.length} |`);
    if (translated !== snippets.length) {
      problems.push(`${snippets.length - translated} example(s) have no ${name} translation`);
    }
  }
  return { lines, problems };
}

if (require.main === module) {
  const { lines, problems } = rosettaReport(path.join(process.cwd(), '.jsii.tabl.json'));
  console.log(lines.join('\n'));
  if (problems.length > 0) {
    console.error(`rosetta: ${problems.join('; ')}`);
    process.exit(1);
  }
}
