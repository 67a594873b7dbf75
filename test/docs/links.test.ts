import * as fs from 'fs';
import * as path from 'path';
import { docFiles, readDoc, ROOT } from './doc-files';

/*
 * Every relative link of README.md and docs/*.md leads somewhere: the file exists, and a #fragment is
 * a heading of that page, spelled as GitHub makes heading anchors.
 */

/** Pages other work adds; links to them are checked once they exist. */
const PAGES_TO_COME = new Set(['docs/teardown.md', 'docs/neon-credentials.md', 'docs/step-order.md']);

/** GitHub's anchor of a heading: lower case, punctuation removed, spaces as hyphens; repeats get -1, -2. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const f = /^ *(`{3,}|~{3,})/.exec(line)?.[1];
    if (f && (fence === undefined || (f[0] === fence[0] && line.trim() === f))) {
      fence = fence === undefined ? f : undefined;
      continue;
    }
    const heading = fence === undefined ? /^#{1,6} +(.*?) *#*$/.exec(line)?.[1] : undefined;
    if (heading === undefined) continue;
    const base = heading.toLowerCase().replace(/<[^>]+>/g, '').replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

/** The relative links of `markdown` (inline links and images), outside code. */
function links(markdown: string): string[] {
  const text = markdown.replace(/^( *)(`{3,}|~{3,})[^\n]*\n[\s\S]*?\n\1\2[ \t]*$/gm, '').replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]).filter((l) => !/^[a-z][a-z0-9+.-]*:/i.test(l));
}

describe('links between the pages', () => {
  test.each(docFiles())('%s: every relative link leads to a file and a heading that exist', (file) => {
    const broken: string[] = [];
    for (const link of links(readDoc(file))) {
      const [target, fragment] = link.split('#', 2) as [string, string | undefined];
      const resolved = target === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), target));
      if (!fs.existsSync(path.join(ROOT, resolved))) {
        if (!PAGES_TO_COME.has(resolved)) broken.push(`${link}: ${resolved} does not exist`);
        continue;
      }
      if (fragment !== undefined && resolved.endsWith('.md') && !anchors(readDoc(resolved)).has(fragment)) {
        broken.push(`${link}: ${resolved} has no heading #${fragment}`);
      }
    }
    expect(broken).toEqual([]);
  });

  test('anchors are spelled as GitHub spells them', () => {
    const page = ['# A page', '## What `cdk destroy` leaves', '### Room for it: the preflight\'s checks', '## Schema copy on 1,100,000 rows',
      '```bash', '# not a heading', '```', '## Twice', '## Twice', '### From the guide\'s "Target table preparation mode"'].join('\n');
    expect([...anchors(page)]).toEqual(['a-page', 'what-cdk-destroy-leaves', 'room-for-it-the-preflights-checks', 'schema-copy-on-1100000-rows',
      'twice', 'twice-1', 'from-the-guides-target-table-preparation-mode']);
  });
});
