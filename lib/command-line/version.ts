import * as fs from 'fs';
import * as path from 'path';

/* The version `--version` prints. */

/** The package whose version the command prints. */
const PACKAGE_NAME = 'cdk-neon-migration';

/**
 * The version of this package, from its `package.json`: the nearest one named `cdk-neon-migration`
 * above `moduleDir`, the directory of this module (lib/command-line in the source tree,
 * dist/command-line where the package is installed: both under the package's root).
 */
export function packageVersion(moduleDir: string = __dirname): string {
  for (let dir = moduleDir; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === 'string') return pkg.version;
    }
    if (path.dirname(dir) === dir) throw new Error(`the package.json of ${PACKAGE_NAME} was not found above ${moduleDir}`);
  }
}
