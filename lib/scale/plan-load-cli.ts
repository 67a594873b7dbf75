import { dmsRules, formatPlanSummary, formatTypeScript, planParallelLoad } from './plan-load';
import { openSession } from '../fidelity/connection';
import type { TextSink } from '../fidelity/progress';
import type { TableMappings } from '../fidelity/selection';

/** What `cdk-neon-migration plan-load` plans (its options, parsed and checked by the command line). */
export interface PlanLoadCommandOptions {
  /** The source's connection string, checked. */
  readonly source: string;
  readonly mappings: TableMappings;
  /** @default 10000000 */
  readonly minRows?: number;
  /** @default 5000000 */
  readonly rowsPerSegment?: number;
  /** @default 8 */
  readonly maxSegments?: number;
  /** Print the plan and the rules as JSON. @default false */
  readonly json?: boolean;
}

/**
 * `cdk-neon-migration plan-load`: reads the source's table sizes and key distribution, and prints
 * the parallel-load ranges it proposes (a summary, the TypeScript and the DMS rules; or JSON).
 */
export async function planLoadCommand(options: PlanLoadCommandOptions, stdout: TextSink): Promise<void> {
  const planOptions = { minRows: options.minRows, rowsPerSegment: options.rowsPerSegment, maxSegments: options.maxSegments };
  const session = await openSession(options.source, 'cdk-neon-migration plan-load', 'source');
  try {
    const plans = await planParallelLoad(session, options.mappings, planOptions);
    if (options.json) {
      stdout.write(JSON.stringify({ tables: plans, rules: dmsRules(plans) }, null, 2) + '\n');
      return;
    }
    stdout.write(formatPlanSummary(plans, options.minRows ?? 10_000_000));
    if (plans.some((p) => p.column)) {
      stdout.write(`\nTypeScript (add to the task's TableMappings):\n\n${formatTypeScript(plans)}`);
      stdout.write(`\nDMS table-mapping rules (add to "rules"):\n\n${JSON.stringify(dmsRules(plans), null, 2)}\n`);
    }
  } finally {
    await session.close();
  }
}
