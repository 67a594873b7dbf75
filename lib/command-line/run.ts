import * as path from 'path';
import { parseArgs, readMappings, UsageError } from './args';
import { describeError } from './errors';
import { usage } from './usage';
import { packageVersion } from './version';
import { cutover, formatCutover, LatencyReading } from '../cutover/cutover';
import type * as DmsLatency from '../cutover/dms-latency';
import { checkConnectionString, withLibpqSslModes } from '../fidelity/connection-url';
// the MySQL support (and its driver): a SOURCE_DATABASE_URL of mysql:// selects it
import '../fidelity/mysql';
import { parseMySqlUrl } from '../fidelity/mysql/connection';
import { preflight } from '../fidelity/preflight';
import { ProgressBar, TextSink } from '../fidelity/progress';
import { formatPreflight, formatVerify } from '../fidelity/report';
import { defaultMappings } from '../fidelity/selection';
import { isMySqlSource, SourceConfig } from '../fidelity/source-engine';
import { formatSchemaObjects, verify } from '../fidelity/verify';
import { planLoadCommand } from '../scale/plan-load-cli';
import { libpqVariablesFromUrl, neonExtensionsPath, runSchemaCopy, SchemaCopyError, schemaCopyEnvironment } from '../schema/steps';

/**
 * The DMS latency reader: the module itself where the AWS SDK is installed (a development checkout),
 * else its bundle with the SDK inside, shipped in the package's assets.
 */
export function loadDmsLatency(): typeof DmsLatency {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('../cutover/dms-latency');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(__dirname, '..', '..', 'assets', 'lib', 'cutover', 'dms-latency', 'index.js'));
}

/**
 * Runs the command line. Returns the exit status: 0 ok, 1 differences or blocking findings, 2 error.
 * With `--json`, errors too are printed on stdout, as `{"error": {"code", "message", ...}}`.
 */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, stdout: TextSink, stderr: TextSink): Promise<number> {
  let bar: ProgressBar | undefined;
  // known before the arguments are parsed, so that argument errors come out as JSON too
  const json = argv.includes('--json');
  try {
    const args = parseArgs(argv);
    if (args.command === 'help') {
      stdout.write(usage(args.topic));
      return 0;
    }
    if (args.command === 'version') {
      stdout.write(args.json ? `${JSON.stringify({ version: packageVersion() })}\n` : `${packageVersion()}\n`);
      return 0;
    }
    const sourceUrl = env.SOURCE_DATABASE_URL || undefined;
    // plan-load reads the source only: a target set in the environment is not its concern
    const targetUrl = args.command === 'plan-load' ? undefined : env.TARGET_DATABASE_URL || undefined;
    if (!sourceUrl) throw new UsageError('set SOURCE_DATABASE_URL to the source connection string', args.command);
    if ((args.command === 'verify' || args.command === 'cutover' || (args.command === 'schema' && args.step !== 'plan')) && !targetUrl) {
      throw new UsageError('set TARGET_DATABASE_URL to the target connection string', args.command);
    }
    const mysqlSource = isMySqlSource(sourceUrl as SourceConfig);
    if (mysqlSource) {
      parseMySqlUrl(sourceUrl, 'source');
      if (args.command === 'schema') {
        throw new UsageError('schema copies a PostgreSQL source\'s schema with pg_dump; a MySQL source\'s schema is converted by DMS Schema Conversion (DmsMigrationTask schemaConversion)', 'schema');
      }
      if (args.schemaObjects) throw new UsageError('--schema-objects compares PostgreSQL catalogs; it does not apply to a MySQL source', args.command);
      if (args.constraints) throw new UsageError('--constraints runs the schema copy\'s constraints step, which a MySQL source does not have', args.command);
      if (args.command === 'plan-load') {
        throw new UsageError('plan-load reads a PostgreSQL source\'s key distribution; for a MySQL source, set TableMappings.parallelLoadRanges (or partitions) by hand', 'plan-load');
      }
    } else {
      checkConnectionString(sourceUrl, 'source');
    }
    if (targetUrl) checkConnectionString(targetUrl, 'target');
    // sslmode as libpq means it, without node-postgres's warning about its own reading of it
    const source = mysqlSource ? sourceUrl.trim() : withLibpqSslModes(sourceUrl.trim());
    const target = targetUrl ? withLibpqSslModes(targetUrl.trim()) : undefined;
    let mappings = args.mappingsFile ? readMappings(args.mappingsFile, args.command) : defaultMappings(args.schemas);
    if (args.command === 'plan-load') {
      await planLoadCommand({
        source, mappings, minRows: args.minRows, rowsPerSegment: args.rowsPerSegment, maxSegments: args.maxSegments, json: args.json,
      }, stdout);
      return 0;
    }
    let latency: (() => Promise<LatencyReading>) | undefined;
    if (args.taskArn !== undefined) {
      const read = loadDmsLatency().dmsTaskLatency({ taskArn: args.taskArn });
      latency = read;
      if (!args.mappingsFile && args.schemas.length === 0) {
        // the task's own table mapping selects the tables
        const first = await read();
        if (first.tableMappings) mappings = first.tableMappings;
      }
    }

    if (args.command === 'schema') {
      const step = args.step!;
      const scriptEnv = schemaCopyEnvironment({
        source: libpqVariablesFromUrl(sourceUrl, 'source'),
        target: targetUrl ? libpqVariablesFromUrl(targetUrl, 'target') : undefined,
        mappings,
        allowedExtensionsFile: step !== 'pre' || args.extensionList === false ? undefined : args.allowedExtensionsFile ?? neonExtensionsPath(),
      });
      const result = await runSchemaCopy(step, scriptEnv, args.json ? {} : { onLine: (line) => stdout.write(`${line}\n`) });
      if (args.json) stdout.write(JSON.stringify({ ok: true, step, output: result.lines }, null, 2) + '\n');
      return 0;
    }

    bar = new ProgressBar(stderr, args.command);
    const onProgress = bar.update.bind(bar);

    if (args.command === 'cutover') {
      const ms = (value: number | undefined) => (value === undefined ? undefined : Math.round(value * 1000));
      const result = await cutover({
        source,
        target: target!,
        mappings,
        latency: latency!,
        maxLatencyMs: ms(args.maxLatency),
        waitMs: ms(args.wait),
        pollMs: ms(args.poll),
        recheckMarginMs: ms(args.recheckMargin),
        recheckRounds: args.recheckRounds,
        concurrency: args.concurrency,
        maxDifferences: args.maxDifferences,
        constraints: args.constraints,
        sequences: args.sequences,
        onProgress,
        onEvent: args.json ? undefined : (message) => bar?.note(message),
      });
      bar.finish();
      stdout.write(args.json ? JSON.stringify(result, null, 2) + '\n' : formatCutover(result));
      if (result.verify?.tables.some((t) => t.status === 'error')) return 2;
      return result.go ? 0 : 1;
    }

    if (args.command === 'preflight') {
      const result = await preflight({
        source,
        target,
        mappings,
        onProgress,
        migrationType: args.migrationType,
        lobMaxSizeKb: args.lobMaxSizeKb,
        supportLobs: args.supportLobs,
        fullLobMode: args.fullLobMode,
        targetTablePrepMode: args.targetTablePrepMode,
        concurrency: args.concurrency,
      });
      bar.finish();
      stdout.write(args.json ? JSON.stringify(result, null, 2) + '\n' : formatPreflight(result));
      return result.ok ? 0 : 1;
    }

    const result = await verify({
      source,
      target: target!,
      mappings,
      onProgress,
      concurrency: args.concurrency,
      maxDifferences: args.maxDifferences,
      compareSchemaObjects: args.schemaObjects,
      recheck: latency && {
        latencyMs: async () => {
          const reading = await latency!();
          if (reading.problem) throw new Error(`the task's latency cannot be used: ${reading.problem}`);
          return reading.latencyMs!;
        },
        marginMs: args.recheckMargin === undefined ? 10_000 : Math.round(args.recheckMargin * 1000),
        maxRounds: args.recheckRounds,
      },
    });
    bar.finish();
    if (args.json) {
      stdout.write(JSON.stringify(result, null, 2) + '\n');
    } else if (result.schemaObjects) {
      // the tables' report ends with the tables' verdict; the schema objects follow with theirs
      const tablesOk = result.findings.length === 0 && result.tables.every((t) => t.status === 'match');
      stdout.write(formatVerify({ ...result, ok: tablesOk }));
      stdout.write(`\n${formatSchemaObjects(result.schemaObjects)}`);
      if (!result.ok) stdout.write('Verify FAILED.\n');
    } else {
      stdout.write(formatVerify(result));
    }
    if (result.tables.some((t) => t.status === 'error')) return 2;
    return result.ok ? 0 : 1;
  } catch (e) {
    bar?.finish();
    const error = describeError(e);
    if (json) {
      stdout.write(JSON.stringify({ error }, null, 2) + '\n');
    } else {
      stderr.write(`error: ${error.message}\n`);
      if (e instanceof UsageError) stderr.write(`\n${usage(e.command)}`);
    }
    // a schema step that failed or was refused is a result, not an error of the command
    if (e instanceof SchemaCopyError && e.exitCode === 1) return 1;
    return 2;
  }
}
