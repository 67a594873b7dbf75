import * as fs from 'fs';
import { dmsRules, formatPlanSummary, formatTypeScript, planParallelLoad } from './plan-load';
import { openSession } from '../fidelity/connection';
import { checkConnectionString, withLibpqSslModes } from '../fidelity/connection-url';
import type { TextSink } from '../fidelity/progress';
import { defaultMappings, TableMappings } from '../fidelity/selection';

export const PLAN_LOAD_USAGE = `usage: cdk-neon-migration plan-load [options]

Reads the source's table sizes and key distribution and proposes parallel-load ranges for the large
tables: DMS then loads each table in segments at the same time (MaxFullLoadSubTasks of them).
Printed as TableMappings.parallelLoadRanges calls (TypeScript) and as DMS table-settings rules (JSON).
Only NOT NULL indexed columns are proposed: DMS does not load rows whose segment column is NULL.

options:
  --schema <name>            select every table of this schema (repeatable; default: all schemas)
  --mappings <file.json>     the DMS table-mapping JSON ({"rules": [...]}) of the task
  --min-rows <n>             cut tables of at least this many rows (default 10000000)
  --rows-per-segment <n>     rows per segment, about (default 5000000)
  --max-segments <n>         segments per table at most, 2-49 (default 8, DMS's MaxFullLoadSubTasks default)
  --json                     print the plan and the rules as JSON
  -h, --help                 show this help

Connection string from the environment: SOURCE_DATABASE_URL (postgresql://...?sslmode=require).

exit status: 0 planned (possibly nothing to cut), 2 error
`;

function positive(name: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} needs a positive integer, got ${text}`);
  return n;
}

/** `cdk-neon-migration plan-load`: `argv` without the command name. */
export async function planLoadCommand(argv: readonly string[], env: NodeJS.ProcessEnv, stdout: TextSink, stderr: TextSink): Promise<number> {
  const schemas: string[] = [];
  let mappingsFile: string | undefined;
  let json = false;
  const options: { minRows?: number; rowsPerSegment?: number; maxSegments?: number } = {};
  try {
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i];
      const value = () => {
        if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
        return argv[++i];
      };
      switch (arg) {
        case '-h': case '--help': stdout.write(PLAN_LOAD_USAGE); return 0;
        case '--json': json = true; break;
        case '--schema': schemas.push(value()); break;
        case '--mappings': mappingsFile = value(); break;
        case '--min-rows': options.minRows = positive(arg, value()); break;
        case '--rows-per-segment': options.rowsPerSegment = positive(arg, value()); break;
        case '--max-segments': options.maxSegments = positive(arg, value()); break;
        default: throw new Error(`unknown option ${arg}`);
      }
    }
    if (options.maxSegments !== undefined && (options.maxSegments < 2 || options.maxSegments > 49)) {
      throw new Error(`--max-segments is ${options.maxSegments}; use 2 to 49 (MaxFullLoadSubTasks is at most 49)`);
    }
    const url = env.SOURCE_DATABASE_URL;
    if (!url) throw new Error('set SOURCE_DATABASE_URL to the source connection string');
    checkConnectionString(url, 'source');
    const mappings: TableMappings = mappingsFile ? JSON.parse(fs.readFileSync(mappingsFile, 'utf8')) : defaultMappings(schemas);
    const session = await openSession(withLibpqSslModes(url.trim()), 'cdk-neon-migration plan-load', 'source');
    try {
      const plans = await planParallelLoad(session, mappings, options);
      if (json) {
        stdout.write(JSON.stringify({ tables: plans, rules: dmsRules(plans) }, null, 2) + '\n');
      } else {
        stdout.write(formatPlanSummary(plans, options.minRows ?? 10_000_000));
        if (plans.some((p) => p.column)) {
          stdout.write(`\nTypeScript (add to the task's TableMappings):\n\n${formatTypeScript(plans)}`);
          stdout.write(`\nDMS table-mapping rules (add to "rules"):\n\n${JSON.stringify(dmsRules(plans), null, 2)}\n`);
        }
      }
      return 0;
    } finally {
      await session.close();
    }
  } catch (e) {
    stderr.write(`cdk-neon-migration plan-load: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
}
