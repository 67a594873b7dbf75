import * as fs from 'fs';
import * as path from 'path';

/*
 * docs/deploy-requirements.md is a ledger: each requirement names its source (a link) and the tests
 * that prove the library meets it. This keeps the ledger honest: every section is complete, and every
 * test it names exists under that title.
 */

const ROOT = path.join(__dirname, '..', '..');
const LEDGER = fs.readFileSync(path.join(ROOT, 'docs', 'deploy-requirements.md'), 'utf8');

interface Requirement {
  readonly heading: string;
  readonly rows: Record<string, string>;
}

function requirements(): Requirement[] {
  return LEDGER.split(/^### /m).slice(1).map(section => {
    const [heading, ...lines] = section.split('\n');
    const rows: Record<string, string> = {};
    for (const line of lines) {
      const m = /^\| (Requirement|Source|Met by|Proof) \| (.*) \|$/.exec(line);
      if (m) rows[m[1]] = m[2];
    }
    return { heading: heading.trim(), rows };
  });
}

/** A test title as written in a test file, quotes unescaped. */
function titlesIn(file: string): string {
  return fs.readFileSync(path.join(ROOT, file), 'utf8').replace(/\\(['"`])/g, '$1');
}

test('the ledger holds requirements for the network, access, secrets, time limits, versions, Neon and the validators', () => {
  const ids = requirements().map(r => r.heading.split(' ')[0]);
  expect(ids.length).toBeGreaterThanOrEqual(20);
  for (const prefix of ['N', 'I', 'S', 'T', 'V', 'Q', 'NE', 'C']) {
    expect(ids.some(id => new RegExp(`^${prefix}\\d+$`).test(id))).toBe(true);
  }
});

test.each(requirements().map(r => [r.heading, r] as const))('%s: requirement, source, how it is met, proof', (_heading, requirement) => {
  expect(Object.keys(requirement.rows).sort()).toEqual(['Met by', 'Proof', 'Requirement', 'Source']);
  expect(requirement.rows.Source).toMatch(/\]\(https:\/\//);
  const proofs = requirement.rows.Proof.split('<br>');
  expect(proofs.length).toBeGreaterThan(0);
  for (const proof of proofs) {
    const m = /^`(test\/[^`]+\.test\.ts)` › (.+)$/.exec(proof.trim());
    expect([proof, m !== null]).toEqual([proof, true]);
    const [, file, title] = m!;
    expect([file, fs.existsSync(path.join(ROOT, file))]).toEqual([file, true]);
    expect([file, title, titlesIn(file).includes(title)]).toEqual([file, title, true]);
  }
});
