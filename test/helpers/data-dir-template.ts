import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/*
 * A database server's freshly initialized data directory, made once per machine and copied for each
 * throwaway server: `initdb` and `mariadb-install-db` take seconds each, a copy a fraction of one.
 * The template is keyed by everything that shapes it (the tool, its arguments, the user it runs as),
 * and written under a temporary name then renamed, so that concurrent test workers never see half of it.
 */

/**
 * Fills `target` (an existing, empty directory) with a copy of the data directory `create` makes,
 * making it first when this machine has no template for `key` yet. Ownership and modes are kept.
 */
export function copyDataDirTemplate(key: readonly unknown[], target: string, create: (dir: string) => void): void {
  const digest = crypto.createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
  const template = path.join(os.tmpdir(), `cdk-neon-migration-datadir-${digest}`);
  if (!fs.existsSync(path.join(template, '.complete'))) {
    const building = `${template}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
    fs.mkdirSync(building);
    try {
      create(building);
      fs.writeFileSync(path.join(building, '.complete'), '');
      fs.renameSync(building, template);
    } catch (e) {
      fs.rmSync(building, { recursive: true, force: true });
      // another worker renamed its template first: use that one
      if (!fs.existsSync(path.join(template, '.complete'))) throw e;
    }
  }
  const copy = spawnSync('cp', ['-a', `${template}/.`, target], { encoding: 'utf8' });
  if (copy.status !== 0) throw new Error(`copying the data directory template ${template} failed: ${copy.stderr}`);
  fs.rmSync(path.join(target, '.complete'), { force: true });
}
