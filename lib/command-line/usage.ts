import { ALL_SCHEMA_COPY_STEPS } from '../schema/steps';

/* The help texts of the command line. */

const ENVIRONMENT = `Connection strings come from the environment only (never from arguments):
  SOURCE_DATABASE_URL   the source database (required)
  TARGET_DATABASE_URL   the Neon target: required by verify, schema and cutover; lets preflight check pre-created tables
Each is postgresql://<user>:<password>@<host>:<port>/<database>?sslmode=require; sslmode has its libpq
meaning (require encrypts, verify-full also verifies the certificate). Use Neon's direct host, not -pooler.
A MySQL-compatible source (MySQL, MariaDB, Aurora MySQL) is mysql://<user>:<password>@<host>:3306/?sslmode=require
(preflight, verify and cutover; see docs/mysql-sources.md).`;

const USAGE = `usage: cdk-neon-migration <preflight|verify|schema|cutover|plan-load> [options]
       cdk-neon-migration --version

commands:
  preflight   before the DMS task runs: finds what it would drop, truncate or change
  verify      after the full load: compares every selected table between source and target
              (with --task-arn, during ongoing replication: differences re-checked after the latency)
  schema      copies the source's schema into the target around the DMS load: schema pre (before
              the task), schema post and schema sequences (after a full load); with CDC, schema
              indexes after the full load and schema constraints and schema sequences at cut-over
  cutover     at the end of a live migration: waits for the task's latency to fall, verifies,
              sets the sequences, and says go or no-go with the evidence
  plan-load   before the task: proposes parallel-load ranges for the large tables

Run cdk-neon-migration <command> --help for the options of a command; --version prints the version.

${ENVIRONMENT}

exit status: 0 ok (cutover: go), 1 differences, blocking findings, no table selected, a failed schema
step or no-go, 2 error (a wrong option or argument: the message, then the command's usage)
`;

const SELECTION_OPTIONS = `  --schema <name>            select every table of this schema (repeatable; default: all schemas)
  --mappings <file.json>     the DMS table-mapping JSON ({"rules": [...]}) of the task`;

const COMMON_OPTIONS = `  --concurrency <n>          tables processed at the same time (default 4)
  --json                     print the result, or the error, as JSON on stdout
  -h, --help                 show this help`;

const PREFLIGHT_USAGE = `usage: cdk-neon-migration preflight [options]

Checks the source before the DMS task runs: tables without primary key, LOB columns that would be
dropped or truncated (measured on the stored data), types DMS cannot carry or converts, CDC
prerequisites, and with TARGET_DATABASE_URL and DO_NOTHING the pre-created target tables.

options:
${SELECTION_OPTIONS}
  --migration-type <type>    full-load | cdc | full-load-and-cdc (default full-load)
  --lob-max-size-kb <n>      the task's LobMaxSize in KB (default 32)
  --full-lob-mode            the task uses full LOB mode
  --no-lobs                  the task runs with SupportLobs=false
  --target-prep-mode <mode>  DO_NOTHING | DROP_AND_CREATE | TRUNCATE_BEFORE_LOAD (default DO_NOTHING)
${COMMON_OPTIONS}

${ENVIRONMENT}

exit status: 0 no blocking finding, 1 blocking findings (NO_TABLES_SELECTED among them), 2 error
`;

const TASK_OPTIONS = `  --task-arn <arn>           the DMS replication task (on a replication instance) applying the changes:
                             its latency is read from CloudWatch (CDCLatencySource + CDCLatencyTarget)
                             and its status from DMS, in the ARN's Region, with the AWS credentials of
                             the environment (AWS_PROFILE, AWS_ACCESS_KEY_ID, a role): it needs
                             dms:DescribeReplicationTasks, dms:DescribeReplicationInstances and
                             cloudwatch:GetMetricData (DmsMigrationTask.grantCutover grants them);
                             its table mapping is used unless --schema or --mappings is given
  --recheck-margin <s>       seconds added to the latency before each re-check (default 10)
  --recheck-rounds <n>       re-checks of the rows that differ, at most (default 5)`;

const VERIFY_USAGE = `usage: cdk-neon-migration verify [options]

Compares every selected table between the source and the target after the full load: row counts
and checksums computed in each database over primary-key ranges, narrowed down to the differing
keys. A column whose type differs between the sides is reported instead of its rows.

During ongoing replication (CDC), give --task-arn: a row that differs is read again on both sides
once the task's latency has passed; rows that arrived meanwhile are counted, not reported; a row
still differing whose source row did not change is reported; rows the source changed again in every
re-check are listed as not proven.

options:
${SELECTION_OPTIONS}
  --max-differences <n>      differing keys listed per table (default 20)
  --schema-objects           also compare the schema objects of the selected tables: columns, types,
                             indexes, constraints, triggers, sequence positions, views
${TASK_OPTIONS}
${COMMON_OPTIONS}

${ENVIRONMENT}

exit status: 0 every table matches, 1 differences, type changes, differing schema objects or no table
selected, 2 error
`;

const SCHEMA_USAGE = `usage: cdk-neon-migration schema <pre|indexes|constraints|post|sequences|plan> [options]

Copies the source's schema into the target around the DMS load, for the tables the selection picks,
with the PostgreSQL client tools installed here (psql, pg_dump, pg_restore; pg_dump at least as new
as the source server):

  pre          before the task starts: the extensions, then pg_dump's pre-data section (types,
               domains, functions, sequences, tables, views) of the schemas holding the selected
               tables; identity columns GENERATED ALWAYS are created GENERATED BY DEFAULT, so that
               DMS can write the source's values into them
  indexes      after the full load, before the task applies changes: indexes, primary-key, unique
               and exclusion constraints (what DMS can apply changes under)
  constraints  at cut-over, once writes to the source have stopped and the task has applied them:
               foreign keys, triggers, rules, policies, the refresh of the materialized views and
               the rest of the post-data section; identity columns GENERATED ALWAYS again
  post         indexes and constraints in one step, after a full load without CDC
  sequences    after the full load (and at cut-over under CDC): every sequence continues where the
               source's does; a target sequence already further along is left alone
  plan         lists what the steps would copy and leave out, and every object each step creates
               (pre: types, functions, sequences, tables, views; indexes: indexes, primary-key,
               unique and exclusion constraints; constraints: foreign keys, triggers, rules,
               policies, materialized views refreshed; post: both), reading the source only

The order:
  FULL_LOAD          pre, the full load, post, sequences
  FULL_LOAD_AND_CDC  pre, the full load (the task stops after it), indexes, the task resumed
                     (changes applied until cut-over); at cut-over: constraints, sequences

Each step runs in one transaction on the target: it creates everything or nothing. Mappings that
rename schemas, tables or columns, add columns or change types are refused; remove-column is taken
for stored generated columns only, and a selected table's stored generated column needs one (pre
and plan name the rule to add): the target computes the column and refuses a value written into it.

options:
${SELECTION_OPTIONS}
  --allowed-extensions <file>  pre: the extensions the target offers, as JSON (default: Neon's list
                             shipped with this package)
  --no-extension-list        pre: check extensions against the target's pg_available_extensions only
  --json                     print the result, or the error, as JSON on stdout
  -h, --help                 show this help

Both connection strings are required (plan needs SOURCE_DATABASE_URL only).
${ENVIRONMENT}

exit status: 0 done, 1 the step failed or was refused (nothing of it kept), 2 error
`;

const CUTOVER_USAGE = `usage: cdk-neon-migration cutover --task-arn <arn> [options]

The last step of a live migration, once writes to the source have stopped (or slowed down):
  1. waits until the task's replication latency is at most --max-latency (no-go when it stays
     above it for --wait, or when the task is not running, still loading or has tables in error);
  2. verifies every selected table, re-checking differences after the latency (no-go on any row
     lost or different, on rows still changing on the source, or when no table was compared);
  3. only then sets every sequence of the selected tables from the source (the schema copy's
     sequences step; with --constraints the constraints step first);
and prints go or no-go with the evidence: the latency seen, the tables and rows compared, the
differences, the sequences set. Nothing on the target changes on a no-go.

options:
${TASK_OPTIONS}
  --max-latency <s>          the latency, in seconds, at which the task is in sync enough (default 5)
  --wait <s>                 how long to wait for the latency to fall (default 900)
  --poll <s>                 seconds between latency readings while waiting (default 30)
  --constraints              also run the schema copy's constraints step (foreign keys, triggers,
                             identity columns GENERATED ALWAYS again) before the sequences
  --no-sequences             do not set the sequences
${SELECTION_OPTIONS}
  --max-differences <n>      differing keys listed per table (default 20)
${COMMON_OPTIONS}

The schema steps need psql and pg_dump (at least as new as the source server) on PATH.

${ENVIRONMENT}

exit status: 0 go, 1 no-go, 2 error
`;

const PLAN_LOAD_USAGE = `usage: cdk-neon-migration plan-load [options]

Reads the source's table sizes and key distribution and proposes parallel-load ranges for the large
tables: DMS then loads each table in segments at the same time (MaxFullLoadSubTasks of them).
Printed as TableMappings.parallelLoadRanges calls (TypeScript) and as DMS table-settings rules (JSON).
Only NOT NULL indexed columns are proposed: DMS does not load rows whose segment column is NULL.

options:
${SELECTION_OPTIONS}
  --min-rows <n>             cut tables of at least this many rows (default 10000000)
  --rows-per-segment <n>     rows per segment, about (default 5000000)
  --max-segments <n>         segments per table at most, 2-49 (default 8, DMS's MaxFullLoadSubTasks default)
  --json                     print the plan and the rules, or the error, as JSON on stdout
  -h, --help                 show this help

SOURCE_DATABASE_URL: the PostgreSQL source (postgresql://<user>:<password>@<host>:<port>/<database>?sslmode=require).

exit status: 0 planned (possibly nothing to cut), 2 error
`;

/** A command of the command line. */
export type Command = 'preflight' | 'verify' | 'schema' | 'cutover' | 'plan-load';

/** Every command, in the order the help lists them. */
export const COMMANDS: readonly Command[] = ['preflight', 'verify', 'schema', 'cutover', 'plan-load'];

/** The commands, for messages: `preflight, verify, schema, cutover or plan-load`. */
export const COMMAND_NAMES = `${COMMANDS.slice(0, -1).join(', ')} or ${COMMANDS[COMMANDS.length - 1]}`;

/** The schema steps, for messages: `pre, indexes, ..., sequences or plan`. */
export const SCHEMA_STEP_NAMES = `${ALL_SCHEMA_COPY_STEPS.slice(0, -1).join(', ')} or ${ALL_SCHEMA_COPY_STEPS[ALL_SCHEMA_COPY_STEPS.length - 1]}`;

/** The help text: of one command, or of the program. */
export function usage(command?: Command): string {
  if (command === 'preflight') return PREFLIGHT_USAGE;
  if (command === 'verify') return VERIFY_USAGE;
  if (command === 'schema') return SCHEMA_USAGE;
  if (command === 'cutover') return CUTOVER_USAGE;
  if (command === 'plan-load') return PLAN_LOAD_USAGE;
  return USAGE;
}
