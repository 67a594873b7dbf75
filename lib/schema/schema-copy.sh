#!/usr/bin/env bash
#
# schema-copy.sh <pre|post|sequences|plan>
#
# Copies a PostgreSQL source's schema into the target around an AWS DMS load, for the tables the
# task's table mapping selects. DMS moves rows only; this script moves what DMS leaves behind:
#
#   pre        before the task starts: the extensions (CREATE EXTENSION IF NOT EXISTS), then
#              pg_dump's pre-data section (types, domains, functions, sequences, tables with their
#              defaults and CHECK constraints, views, materialized views without data, comments) of
#              the schemas holding the selected tables and of the schemas whose types, functions or
#              sequences those tables use, without the tables the selection leaves out (nor their
#              sequences, nor the views reading them).
#   post       after the full load: pg_dump's post-data section (indexes, primary-key, unique,
#              foreign-key and exclusion constraints, triggers, rules, policies), which ends with
#              REFRESH MATERIALIZED VIEW for each materialized view holding data on the source.
#   sequences  after the full load (and again at cut-over under CDC): every sequence of the copied
#              schemas, serial and identity ones included, continues where the source's does. A
#              target sequence already further along (rows inserted on the target) is left alone.
#   plan       what the steps would copy: the selected tables, the schemas, the relations left out,
#              the extensions and the sequences. Reads the source only; changes nothing.
#
# pre, post and sequences each change the target in one transaction (psql ON_ERROR_STOP,
# --single-transaction): everything or nothing. pre stops before changing anything when a selected
# table exists on the target already.
#
# Needs bash, psql, pg_dump and pg_restore (the official `postgres` image has them; pg_dump must be at
# least as new as the source server), coreutils, sed and awk.
#
# Environment:
#   SOURCE_PGHOST, SOURCE_PGPORT, SOURCE_PGUSER, SOURCE_PGPASSWORD, SOURCE_PGDATABASE, SOURCE_PGSSLMODE
#   TARGET_PGHOST, TARGET_PGPORT, TARGET_PGUSER, TARGET_PGPASSWORD, TARGET_PGDATABASE, TARGET_PGSSLMODE
#       The libpq connection variables of each side, with a SOURCE_ or TARGET_ prefix. HOST, USER and
#       DATABASE are required (the target's not by plan); PORT defaults to 5432. Any other libpq
#       variable may be given the same way (TARGET_PGSSLROOTCERT, SOURCE_PGCONNECT_TIMEOUT, ...). The
#       caller's own unprefixed PG* variables are ignored, so that one side's settings never reach
#       the other. A Neon password in the form endpoint=<endpoint_id>$<password> passes unchanged.
#   TABLE_MAPPINGS
#       The DMS table-mapping JSON of the task ({"rules": [...]}, or that document as a JSON string).
#       Its selection rules pick the tables as DMS does: include, explicit and exclude rules (an
#       exclude wins over any include), schema-name and table-name patterns where % matches any run
#       of characters, _ one character, [_] a literal underscore and [ab] / [a-d] a set or range
#       (case-sensitive), and table-type table (the default), view or all. Refused, naming the rule:
#       transformation rules that rename, prefix, suffix or change the case of schemas, tables or
#       columns, add or remove columns or change column types (rename, convert-lowercase,
#       convert-uppercase, add-/remove-/replace-prefix and -suffix, remove-column, add-column,
#       include-column, change-data-type, add-before-image-columns): the copied objects would not be
#       the ones DMS writes into; a selection of views (DMS loads a view's rows into a table); and a
#       foreign key of a selected table to a table left out.
#   ALLOWED_EXTENSIONS_FILE (optional)
#       A JSON file naming the extensions the target offers: {"extensions": {"<name>": ...}} (as
#       neon-extensions.json), {"extensions": ["<name>", ...]} or ["<name>", ...]. Where an entry is
#       an object keyed by PostgreSQL major version ({"16": "1.6", "17": null}), a null for the
#       target's version means not offered. pre also checks the target's pg_available_extensions.
#       Every extension of the source database but plpgsql is created on the target. One that a
#       copied definition uses (a column type, a default, an operator class, a function's argument)
#       and the target lacks stops pre before anything is created, all of them listed; one that none
#       uses is skipped with a notice (the catalog does not record calls inside function bodies).
#
# Output: progress on stdout, one line per action. Errors on stderr as
#   schema-copy <step>: <where>: <message>
# where <where> is source, target, TABLE_MAPPINGS, ALLOWED_EXTENSIONS_FILE or environment, and the
# message is the client tool's own (psql, pg_dump, pg_restore) where one failed. No password or
# connection string is ever printed.
#
# Exit status: 0 done; 1 the step failed or was refused (a failed restore keeps nothing);
# 2 bad usage or environment (unknown step, missing variable, unreadable or malformed JSON).

set -euo pipefail
umask 077

STEP="${1:-}"
PROG="schema-copy"

usage_error() {
  printf '%s: %s\n' "$PROG${STEP:+ $STEP}" "$1" >&2
  printf 'usage: schema-copy.sh <pre|post|sequences|plan>\n' >&2
  exit 2
}

# fail <where> <message>: the step's error, on stderr.
fail() {
  printf '%s %s: %s: %s\n' "$PROG" "$STEP" "$1" "$2" >&2
  exit "${3:-1}"
}

case "$STEP" in
  pre | post | sequences | plan) ;;
  -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
  '') usage_error 'missing step' ;;
  *) usage_error "unknown step \"$STEP\"" ;;
esac
[ "$#" -eq 1 ] || usage_error 'takes exactly one argument'

for tool in psql pg_dump pg_restore; do
  command -v "$tool" >/dev/null 2>&1 || fail environment "$tool was not found on PATH (install the PostgreSQL client tools)" 2
done
SIDES='SOURCE TARGET'
[ "$STEP" != plan ] || SIDES='SOURCE'
for side in $SIDES; do
  for part in PGHOST PGUSER PGDATABASE; do
    var="${side}_${part}"
    [ -n "${!var:-}" ] || fail environment "$var is not set" 2
  done
done
[ -n "${TABLE_MAPPINGS:-}" ] || fail environment 'TABLE_MAPPINGS is not set (the DMS table-mapping JSON of the task)' 2
ALLOWED_JSON=''
if [ -n "${ALLOWED_EXTENSIONS_FILE:-}" ]; then
  [ -r "$ALLOWED_EXTENSIONS_FILE" ] || fail ALLOWED_EXTENSIONS_FILE "cannot read $ALLOWED_EXTENSIONS_FILE" 2
  ALLOWED_JSON="$(cat "$ALLOWED_EXTENSIONS_FILE")"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/schema-copy.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# on <source|target> <command> [args...]: runs a client tool against one side. The side's prefixed
# variables become the libpq variables of the tool's environment, and no other PG* variable survives.
on() {
  local prefix
  prefix="$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')_"
  shift
  (
    for v in $(compgen -e); do
      case "$v" in PG*) unset "$v" ;; esac
    done
    for v in $(compgen -e); do
      case "$v" in "${prefix}"PG*) export "${v#"$prefix"}=${!v}" ;; esac
    done
    export PGPORT="${PGPORT:-5432}" PGAPPNAME="${PGAPPNAME:-cdk-neon-migration schema-copy}"
    exec "$@"
  )
}

# query <side> <output file> <sql>: runs read-only SQL with the psql variables below, writing each
# row of the single-column result as a NUL-terminated record (names may hold newlines). On failure
# the step fails with psql's message, naming the side.
query() {
  local side="$1" out="$2" sql="$3"
  if ! printf '%s\n' "$sql" | on "$side" psql -X -q -A -t -0 -v ON_ERROR_STOP=1 \
      -v mappings="$TABLE_MAPPINGS" -v allowed="$ALLOWED_JSON" -v target_major="${TARGET_MAJOR:-0}" \
      -o "$out" -f - 2>"$WORK/stderr"; then
    fail "$side" "$(tool_message)"
  fi
}

# The tool's message, without the "psql:<stdin>:N:" prefix (the SQL is this script's, not the user's).
tool_message() {
  sed -e 's/^psql:<stdin>:[0-9]*: //' "$WORK/stderr" | awk 'NF' | head -c 4000
}

# ---------------------------------------------------------------------------------------------------
# The plan, computed on the source catalog in one read-only query. Each row is "<kind>\t<value>":
#   error       a problem with the mapping (the step stops and lists them all)
#   selected    a selected table or partitioned table, as schema.table for messages
#   target      the same table as a quoted SQL name, to check the target for it
#   schema      a schema to dump (-n) and to create on the target
#   exclude     a relation of those schemas the dump leaves out (-T): unselected tables, their
#               sequences, and views and materialized views that read a relation left out
#   notice      a view left out because it reads a relation the selection leaves out
#   extension   an extension the copied objects use: "<name>\t<schema>"
#   missing     such an extension the allowed list or the target lacks
#   sequence    a sequence to position: its quoted SQL name
# ---------------------------------------------------------------------------------------------------
read -r -d '' PLAN_SQL <<'SQL' || true
begin transaction read only;
with recursive
doc as (
  select case when jsonb_typeof(j) = 'string' then (j #>> '{}')::jsonb else j end as j
  from (select (:'mappings')::jsonb as j) s
),
rules as (
  select r.value as rule, r.pos,
         'rule ' || coalesce(r.value ->> 'rule-name', r.value ->> 'rule-id', r.pos::text) as label
  from doc, jsonb_array_elements(case when jsonb_typeof(doc.j -> 'rules') = 'array' then doc.j -> 'rules' else '[]' end)
    with ordinality as r(value, pos)
  where jsonb_typeof(r.value) = 'object'
),
-- the checks of lib/fidelity/selection.ts validateMappings, and the transformations the copy refuses
problems as (
  select 0 as pos, 'table mappings must be an object with a "rules" array' as message
  from doc where jsonb_typeof(doc.j -> 'rules') is distinct from 'array'
  union all
  select pos, label || ': selection rule-action must be include, exclude or explicit, got "' || coalesce(rule ->> 'rule-action', '') || '"'
  from rules where rule ->> 'rule-type' = 'selection' and coalesce(rule ->> 'rule-action', '') not in ('include', 'exclude', 'explicit')
  union all
  select pos, label || ': selection rules need object-locator.schema-name and object-locator.table-name'
  from rules where rule ->> 'rule-type' = 'selection'
    and (jsonb_typeof(rule #> '{object-locator,schema-name}') is distinct from 'string'
      or jsonb_typeof(rule #> '{object-locator,table-name}') is distinct from 'string')
  union all
  select pos, label || ': explicit selection rules take exact names, not % wildcards'
  from rules where rule ->> 'rule-type' = 'selection' and rule ->> 'rule-action' = 'explicit'
    and (rule #>> '{object-locator,schema-name}' like '%\%%' or rule #>> '{object-locator,table-name}' like '%\%%')
  union all
  select pos, label || ': object-locator table-type must be table, view or all, got "' || (rule #>> '{object-locator,table-type}') || '"'
  from rules where rule ->> 'rule-type' = 'selection'
    and lower(coalesce(rule #>> '{object-locator,table-type}', 'table')) not in ('table', 'view', 'all')
  union all
  select pos, label || ' (' || (rule ->> 'rule-action') || ' on ' || coalesce(rule ->> 'rule-target', 'an object')
      || case when rule ? 'object-locator' then ' ' || (rule ->> 'object-locator') else '' end
      || '): the schema copy creates the source''s schemas, tables and columns under their source names and types, '
      || 'while this rule makes DMS write to other names, other types or other columns. '
      || 'Remove the rule, or create the target schema yourself and leave the schema copy off.'
  from rules where rule ->> 'rule-type' = 'transformation' and rule ->> 'rule-action' in (
    'rename', 'remove-column', 'add-column', 'include-column', 'change-data-type', 'add-before-image-columns',
    'convert-lowercase', 'convert-uppercase', 'add-prefix', 'remove-prefix', 'replace-prefix',
    'add-suffix', 'remove-suffix', 'replace-suffix')
),
-- selection rules with their patterns as anchored regular expressions: % any run, _ one character,
-- [...] a set or range (so [_] is a literal underscore), anything else literally
sel as (
  select r.pos, r.label, r.rule ->> 'rule-action' as action,
         lower(coalesce(r.rule #>> '{object-locator,table-type}', 'table')) as table_type,
         p.schema_re, p.table_re
  from rules r
  cross join lateral (
    select max(re) filter (where which = 's') as schema_re, max(re) filter (where which = 't') as table_re
    from (values ('s', r.rule #>> '{object-locator,schema-name}'), ('t', r.rule #>> '{object-locator,table-name}')) as v(which, pattern)
    cross join lateral (
      select '^' || coalesce(string_agg(case
          when m.token[1] = '%' then '.*'
          when m.token[1] = '_' then '.'
          when length(m.token[1]) > 2 and left(m.token[1], 1) = '[' then '[' || replace(substr(m.token[1], 2, length(m.token[1]) - 2), '\', '\\') || ']'
          else regexp_replace(m.token[1], '([^[:alnum:]])', '\\\1', 'g')
        end, '' order by m.n), '') || '$' as re
      from regexp_matches(v.pattern, '\[[^]]+\]|.', 'g') with ordinality as m(token, n)
    ) x
    group by ()
  ) p
  where r.rule ->> 'rule-type' = 'selection' and not exists (select 1 from problems)
),
-- what lib/fidelity/selection.ts resolveTables lists: tables, partitioned tables, views and
-- materialized views of the non-system schemas, partitions left out (DMS reads them through their root)
candidates as (
  select c.oid, n.nspname, c.relname, c.relkind::text as kind
  from pg_catalog.pg_class c
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p', 'v', 'm')
    and not c.relispartition
    and n.nspname not in ('pg_catalog', 'information_schema')
    and n.nspname not like 'pg\_toast%'
    and n.nspname not like 'pg\_temp\_%'
),
hits as (
  select c.oid, s.action,
         c.kind = any (case s.table_type when 'table' then array['r', 'p'] when 'view' then array['v', 'm'] else array['r', 'p', 'v', 'm'] end) as kind_ok
  from candidates c join sel s on c.nspname ~ s.schema_re and c.relname ~ s.table_re
),
selected as (
  select c.* from candidates c
  where exists (select 1 from hits h where h.oid = c.oid and h.action <> 'exclude' and h.kind_ok)
    and not exists (select 1 from hits h where h.oid = c.oid and h.action = 'exclude')
),
-- selected tables and, recursively, their partitions: the tables that will exist on the target
kept(oid) as (
  select oid from selected where kind in ('r', 'p')
  union
  select i.inhrelid from pg_catalog.pg_inherits i join kept k on i.inhparent = k.oid
  join pg_catalog.pg_class c on c.oid = i.inhrelid where c.relispartition
),
extension_members as (
  select classid, objid, refobjid as extension from pg_catalog.pg_depend where deptype = 'e'
),
-- the kept tables and what belongs to them: columns' defaults, constraints, indexes, triggers, rules,
-- owned sequences, row types
parts(classid, objid) as (
  select 'pg_catalog.pg_class'::regclass::oid, oid from kept
  union
  select d.classid, d.objid from pg_catalog.pg_depend d join parts p on d.refclassid = p.classid and d.refobjid = p.objid
  where d.deptype in ('a', 'i')
),
-- what those depend on, recursively: types, domains, functions, sequences, collations, referenced
-- tables, and the schemas holding them. Extension members and tables end the walk (an extension is
-- created whole; a table is either kept or reported).
needed(classid, objid) as (
  select d.refclassid, d.refobjid from pg_catalog.pg_depend d join parts p on d.classid = p.classid and d.objid = p.objid
  where d.deptype = 'n'
  union
  select d.refclassid, d.refobjid
  from needed x
  join pg_catalog.pg_depend d on d.classid = x.classid and d.objid = x.objid and d.deptype = 'n'
  where not exists (select 1 from extension_members e where e.classid = x.classid and e.objid = x.objid)
    and not (x.classid = 'pg_catalog.pg_class'::regclass and exists (
      select 1 from pg_catalog.pg_class c where c.oid = x.objid and c.relkind in ('r', 'p', 'f')))
),
schemas as (
  select n.oid, n.nspname from pg_catalog.pg_namespace n
  where (n.oid in (select c.relnamespace from pg_catalog.pg_class c join kept k on k.oid = c.oid)
      or n.oid in (select objid from needed where classid = 'pg_catalog.pg_namespace'::regclass))
    and n.nspname not in ('pg_catalog', 'information_schema')
    and n.nspname not like 'pg\_toast%'
    and n.nspname not like 'pg\_temp\_%'
    and not exists (select 1 from extension_members e where e.classid = 'pg_catalog.pg_namespace'::regclass and e.objid = n.oid)
),
-- foreign keys of kept tables that reference a table the selection leaves out
dangling_fks as (
  select k.conname, k.conrelid, k.confrelid from pg_catalog.pg_constraint k
  where k.contype = 'f' and k.conrelid in (select oid from kept) and k.confrelid not in (select oid from kept)
),
-- relations that will not exist on the target: tables left out (any schema) and views outside the
-- dumped schemas; views of the dumped schemas reading one of them (recursively) are left out too
view_reads as (
  select distinct r.ev_class as view, d.refobjid as rel
  from pg_catalog.pg_rewrite r
  join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_rewrite'::regclass and d.objid = r.oid
   and d.refclassid = 'pg_catalog.pg_class'::regclass and d.refobjid <> r.ev_class
),
absent(oid) as (
  select c.oid from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where n.nspname not in ('pg_catalog', 'information_schema')
    and not exists (select 1 from extension_members e where e.classid = 'pg_catalog.pg_class'::regclass and e.objid = c.oid)
    and ((c.relkind in ('r', 'p', 'f') and c.oid not in (select oid from kept))
      or (c.relkind in ('v', 'm') and c.relnamespace not in (select oid from schemas)))
  union
  select v.view from view_reads v join absent a on a.oid = v.rel
),
excluded as (
  -- tables and foreign tables of the dumped schemas that are not kept
  select c.oid from pg_catalog.pg_class c
  where c.relnamespace in (select oid from schemas) and c.relkind in ('r', 'p', 'f') and c.oid not in (select oid from kept)
  union
  -- views and materialized views reading an absent relation
  select a.oid from absent a join pg_catalog.pg_class c on c.oid = a.oid
  where c.relkind in ('v', 'm') and c.relnamespace in (select oid from schemas)
  union
  -- sequences owned by a table left out, unless a kept table uses them
  select d.objid from pg_catalog.pg_depend d
  join pg_catalog.pg_class s on s.oid = d.objid and s.relkind = 'S'
  where d.classid = 'pg_catalog.pg_class'::regclass and d.refclassid = 'pg_catalog.pg_class'::regclass
    and d.deptype in ('a', 'i') and d.refobjid not in (select oid from kept)
    and s.relnamespace in (select oid from schemas)
    and d.objid not in (select objid from needed where classid = 'pg_catalog.pg_class'::regclass)
),
-- extensions: every extension of the source database but plpgsql (function bodies may call any of
-- them, and the catalog does not record that), marked used when a copied object's definition
-- references one of its members (a column type, a default, an operator class, a function argument),
-- or when a used extension requires it
dumped_objects(classid, objid) as (
  select classid, objid from parts
  union select classid, objid from needed
  union select 'pg_catalog.pg_proc'::regclass, p.oid from pg_catalog.pg_proc p where p.pronamespace in (select oid from schemas)
  union select 'pg_catalog.pg_type'::regclass, t.oid from pg_catalog.pg_type t where t.typnamespace in (select oid from schemas)
  union select 'pg_catalog.pg_rewrite'::regclass, r.oid from pg_catalog.pg_rewrite r join pg_catalog.pg_class c on c.oid = r.ev_class
    where c.relnamespace in (select oid from schemas) and c.oid not in (select oid from excluded)
),
used_extensions(oid) as (
  select distinct e.extension from dumped_objects o
  join pg_catalog.pg_depend d on d.classid = o.classid and d.objid = o.objid and d.deptype = 'n'
  join extension_members e on e.classid = d.refclassid and e.objid = d.refobjid
  union
  select d.refobjid from pg_catalog.pg_depend d join used_extensions u on d.classid = 'pg_catalog.pg_extension'::regclass
    and d.objid = u.oid and d.refclassid = 'pg_catalog.pg_extension'::regclass and d.deptype = 'n'
),
-- how deep each extension sits among the extensions requiring it: required ones are created first
extension_depth(oid, depth) as (
  select oid, 0 from pg_catalog.pg_extension
  union
  select d.refobjid, x.depth + 1 from extension_depth x
  join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_extension'::regclass and d.objid = x.oid
   and d.refclassid = 'pg_catalog.pg_extension'::regclass and d.deptype = 'n'
  where x.depth < 20
),
extensions as (
  select x.extname, n.nspname, x.oid in (select oid from used_extensions) as used,
         (select max(depth) from extension_depth d where d.oid = x.oid) as depth
  from pg_catalog.pg_extension x join pg_catalog.pg_namespace n on n.oid = x.extnamespace
  where x.extname <> 'plpgsql'
),
allowed_doc as (
  select j from (select (nullif(:'allowed', ''))::jsonb as j) s where j is not null
),
allowed(name, versions) as (
  select e.key, e.value from allowed_doc, jsonb_each(case when jsonb_typeof(j -> 'extensions') = 'object' then j -> 'extensions' else '{}' end) e
  union all
  select x.value #>> '{}', null from allowed_doc, jsonb_array_elements(
    case when jsonb_typeof(j) = 'array' then j when jsonb_typeof(j -> 'extensions') = 'array' then j -> 'extensions' else '[]' end) x
  where jsonb_typeof(x.value) = 'string'
),
missing as (
  select x.extname, x.used from extensions x
  where exists (select 1 from allowed_doc)
    and not exists (
      select 1 from allowed a where a.name = x.extname
        -- an entry keyed by major version offers the extension on the target's version unless
        -- that version's value is null (a version the list does not know is not held against it)
        and (jsonb_typeof(a.versions) is distinct from 'object'
          or not (a.versions ? :'target_major')
          or jsonb_typeof(a.versions -> :'target_major') <> 'null'))
)
select 'error' || E'\t' || message from (select message from problems order by pos) p
union all
select 'error' || E'\t' || 'the schema copy creates views as views, while DMS loads the rows of a selected view into a table: '
  || 'leave views out of the selection (table-type table, the default) or leave the schema copy off. Selected: '
  || string_agg(nspname || '.' || relname, ', ' order by nspname, relname)
from selected where kind in ('v', 'm') having count(*) > 0
union all
select * from (
  select 'error' || E'\t' || 'foreign key ' || k.conname || ' of ' || n.nspname || '.' || c.relname || ' references '
    || rn.nspname || '.' || r.relname || ', which the selection leaves out: select that table too, or drop the foreign key on the source'
  from dangling_fks k
  join pg_catalog.pg_class c on c.oid = k.conrelid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  join pg_catalog.pg_class r on r.oid = k.confrelid join pg_catalog.pg_namespace rn on rn.oid = r.relnamespace
  order by n.nspname collate "C", c.relname collate "C", k.conname collate "C") ordered
union all
select 'selected' || E'\t' || nspname || '.' || relname from (select * from selected where kind in ('r', 'p') order by nspname collate "C", relname collate "C") s
union all
select 'target' || E'\t' || format('%I.%I', n.nspname, c.relname)
from kept k join pg_catalog.pg_class c on c.oid = k.oid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
union all
select 'schema' || E'\t' || nspname from (select nspname from schemas order by nspname collate "C") s
union all
select * from (
  select 'exclude' || E'\t' || format('"%s"."%s"', replace(n.nspname, '"', '""'), replace(c.relname, '"', '""'))
    || E'\t' || n.nspname || '.' || c.relname
  from excluded x join pg_catalog.pg_class c on c.oid = x.oid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  order by n.nspname collate "C", c.relname collate "C") ordered
union all
select 'notice' || E'\t' || 'leaving out ' || case c.relkind when 'v' then 'view ' else 'materialized view ' end
  || n.nspname || '.' || c.relname || ': it reads a relation the selection leaves out'
from excluded x join pg_catalog.pg_class c on c.oid = x.oid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('v', 'm')
union all
select 'extension' || E'\t' || case when used then 'used' else 'unused' end || E'\t' || extname || E'\t' || nspname
from (select * from extensions order by depth desc, extname) x
union all
select 'missing' || E'\t' || case when used then 'used' else 'unused' end || E'\t' || extname from missing
union all
select * from (
  select 'sequence' || E'\t' || format('%I.%I', n.nspname, c.relname)
  from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where c.relkind = 'S' and c.relnamespace in (select oid from schemas) and c.oid not in (select oid from excluded)
    and not exists (select 1 from extension_members e where e.classid = 'pg_catalog.pg_class'::regclass and e.objid = c.oid)
  order by n.nspname collate "C", c.relname collate "C") ordered;
commit;
SQL

# The JSON documents are parsed by the source server (jsonb): check them first, so that a malformed
# document is reported as such rather than as a failure of the source.
check_json() {
  local name="$1" var="$2"
  if ! printf 'select (:%s)::jsonb is not null;\n' "'$var'" | on source psql -X -q -A -t -v ON_ERROR_STOP=1 \
      -v mappings="$TABLE_MAPPINGS" -v allowed="$ALLOWED_JSON" -o /dev/null -f - 2>"$WORK/stderr"; then
    if grep -q 'invalid input syntax for type json' "$WORK/stderr"; then
      # the error and its detail, without the lines quoting the document
      fail "$name" "not valid JSON: $(tool_message | grep -E '^(ERROR|DETAIL): ')" 2
    fi
    fail source "$(tool_message)"
  fi
}

SCHEMAS=() EXCLUDES=() LEFT_OUT=() SELECTED=() TARGETS=() EXTENSIONS=() MISSING=() SEQUENCES=() NOTICES=() ERRORS=()

plan() {
  check_json TABLE_MAPPINGS mappings
  [ -z "$ALLOWED_JSON" ] || check_json ALLOWED_EXTENSIONS_FILE allowed
  query source "$WORK/plan" "$PLAN_SQL"
  local record kind value
  while IFS= read -r -d '' record; do
    kind="${record%%$'\t'*}"
    value="${record#*$'\t'}"
    case "$kind" in
      error) ERRORS+=("$value") ;;
      selected) SELECTED+=("$value") ;;
      target) TARGETS+=("$value") ;;
      schema) SCHEMAS+=("$value") ;;
      exclude) EXCLUDES+=("${value%%$'\t'*}") LEFT_OUT+=("${value#*$'\t'}") ;;
      notice) NOTICES+=("$value") ;;
      extension) EXTENSIONS+=("$value") ;;
      missing) MISSING+=("$value") ;;
      sequence) SEQUENCES+=("$value") ;;
    esac
  done <"$WORK/plan"
  if [ "${#ERRORS[@]}" -gt 0 ]; then
    fail TABLE_MAPPINGS "$(printf '%s\n' "${ERRORS[@]}" | sed -e '2,$s/^/  /')"
  fi
  if [ "${#SELECTED[@]}" -eq 0 ]; then
    fail source "the selection rules match no table on the source: check the schema and table names (they are case-sensitive)"
  fi
}

# sql_literal <text>: the text as an SQL string literal.
sql_literal() {
  printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"
}

# sql_ident <name>: the name as a quoted SQL identifier.
sql_ident() {
  printf '"%s"' "$(printf '%s' "$1" | sed 's/"/""/g')"
}

# dump <section> <file>: pg_dump of the section for the planned schemas, without the excluded relations.
dump() {
  local section="$1" file="$2" args=()
  local s x
  for s in "${SCHEMAS[@]}"; do args+=(--schema="$(sql_ident "$s")"); done
  for x in "${EXCLUDES[@]}"; do args+=(--exclude-table="$x"); done
  if ! on source pg_dump --format=custom --section="$section" --no-owner --no-privileges --no-publications \
      --no-subscriptions --no-security-labels --no-tablespaces --strict-names "${args[@]}" \
      --file="$file" 2>"$WORK/stderr"; then
    fail source "$(tool_message)"
  fi
}

# restore_script <dump file> <sql file> [<quoted schema name>...]: the archive as SQL for psql, with
# two changes:
#  - its SCHEMA entries are left out (pg_restore -L with those lines commented out): the schemas are
#    created before, with CREATE SCHEMA IF NOT EXISTS, because one may exist on the target already
#    (public always does, and pg_dump writes CREATE SCHEMA public when -n names it); so are the
#    comments on the schemas given, those that exist on the target: they stay as the target has them
#    (and on PostgreSQL 14, public belongs to the server's superuser, not to the database owner);
#  - the line "SET transaction_timeout = 0;" of the script's preamble is dropped: pg_restore 17 and
#    later write it, and servers before 17 reject the unknown setting. Only the preamble (the lines
#    before the first object) is filtered, so no object's text can be touched.
restore_script() {
  local archive="$1" out="$2" flags=()
  if ! pg_restore --list "$archive" >"$WORK/toc" 2>"$WORK/stderr"; then
    fail source "pg_restore: $(tool_message)"
  fi
  local existing
  existing="$(printf '%s\n' "${@:3}")"
  EXISTING="$existing" awk '
    BEGIN { n = split(ENVIRON["EXISTING"], names, "\n") }
    /^[0-9]+; [0-9]+ [0-9]+ SCHEMA - / { print ";" $0; next }
    {
      for (i = 1; i <= n; i++) {
        prefix = "COMMENT - SCHEMA " names[i] " "
        rest = $0
        sub(/^[0-9]+; [0-9]+ [0-9]+ /, "", rest)
        if (names[i] != "" && index(rest, prefix) == 1) { print ";" $0; next }
      }
      print
    }' "$WORK/toc" >"$WORK/toc.filtered"
  # options of newer pg_restore versions, used when present: statistics are not schema (pg_restore 18),
  # and Neon stores every table with the default access method
  local help
  help="$(pg_restore --help)"
  case "$help" in *--no-statistics*) flags+=(--no-statistics) ;; esac
  case "$help" in *--no-table-access-method*) flags+=(--no-table-access-method) ;; esac
  if ! pg_restore --use-list="$WORK/toc.filtered" --no-owner --no-privileges --no-tablespaces --no-security-labels \
      "${flags[@]}" --file="$WORK/restore.sql" "$archive" 2>"$WORK/stderr"; then
    fail source "pg_restore: $(tool_message)"
  fi
  awk '
    !started && /^-- Name: / { started = 1 }
    !started && $0 == "SET transaction_timeout = 0;" { next }
    { print }
  ' "$WORK/restore.sql" >>"$out"
}

# apply <file> <what>: runs the SQL file on the target in one transaction, stopping at the first error.
apply() {
  local file="$1" what="$2"
  if ! on target psql -X -q -v ON_ERROR_STOP=1 --single-transaction -o /dev/null -f "$file" 2>"$WORK/stderr"; then
    fail target "$what failed, nothing was changed: $(sed -e "s|^psql:$file:\([0-9]*\): |line \1: |" "$WORK/stderr" | awk 'NF' | head -c 4000)"
  fi
}

# joined <item>...: the items separated by ", ".
joined() {
  local out='' item
  for item in "$@"; do out+="${out:+, }$item"; done
  printf '%s' "$out"
}

# contains <needle> <item>...: whether the needle is one of the items.
contains() {
  local needle="$1" item
  shift
  for item in "$@"; do [ "$item" = "$needle" ] && return 0; done
  return 1
}

target_major() {
  query target "$WORK/version" "select current_setting('server_version_num')::int / 10000;"
  tr -d '\0' <"$WORK/version"
}

step_pre() {
  TARGET_MAJOR="$(target_major)"
  plan
  local n e
  for n in "${NOTICES[@]}"; do printf 'pre: %s\n' "$n"; done
  printf 'pre: %d table(s) selected, schema(s) %s\n' "${#SELECTED[@]}" "$(joined "${SCHEMAS[@]}")"

  # The extensions, before anything is created. One the copied definitions use must be on the allowed
  # list and available on the target; another installed one the target lacks is skipped with a notice.
  local used_missing=() unused_missing=()
  for e in "${MISSING[@]}"; do
    case "$e" in used$'\t'*) used_missing+=("${e#*$'\t'}") ;; *) unused_missing+=("${e#*$'\t'}") ;; esac
  done
  if [ "${#used_missing[@]}" -gt 0 ]; then
    fail ALLOWED_EXTENSIONS_FILE "the copied objects use extensions the target does not offer: $(joined "${used_missing[@]}") (not in $ALLOWED_EXTENSIONS_FILE); nothing was created"
  fi
  local list='' name
  for e in "${EXTENSIONS[@]}"; do
    name="${e#*$'\t'}"
    list+="${list:+,}$(sql_literal "${name%%$'\t'*}")"
  done
  local unavailable=()
  if [ -n "$list" ]; then
    query target "$WORK/unavailable" "select x from unnest(array[$list]::text[]) x where x not in (select name from pg_catalog.pg_available_extensions) order by 1;"
    mapfile -d '' unavailable <"$WORK/unavailable"
  fi
  local create=() used_unavailable=() skipped=() use schema
  for e in "${EXTENSIONS[@]}"; do
    use="${e%%$'\t'*}"
    name="${e#*$'\t'}"
    schema="${name#*$'\t'}"
    name="${name%%$'\t'*}"
    if contains "$name" "${unavailable[@]}"; then
      if [ "$use" = used ]; then used_unavailable+=("$name"); else skipped+=("$name"); fi
    elif contains "$name" "${unused_missing[@]}"; then
      skipped+=("$name")
    else
      create+=("$name"$'\t'"$schema")
    fi
  done
  if [ "${#used_unavailable[@]}" -gt 0 ]; then
    fail target "the copied objects use extensions the target cannot install: $(joined "${used_unavailable[@]}") (not in its pg_available_extensions); nothing was created"
  fi
  for e in "${skipped[@]}"; do
    printf 'pre: extension %s is installed on the source but not offered by the target: not created (no copied definition references it; a function body calling it would fail on the target)\n' "$e"
  done

  # tables that exist on the target already: the restore would stop at the first one
  local targets=''
  for e in "${TARGETS[@]}"; do targets+="${targets:+,}$(sql_literal "$e")"; done
  query target "$WORK/existing" "select x from unnest(array[$targets]::text[]) x where to_regclass(x) is not null order by 1;"
  local existing=()
  mapfile -d '' existing <"$WORK/existing"
  if [ "${#existing[@]}" -gt 0 ]; then
    fail target "these tables exist on the target already: $(joined "${existing[@]}"). The pre step creates them: drop them first, or leave the schema copy off and create the target schema yourself"
  fi

  # schemas that exist on the target already, as pg_restore names them (quoted where needed)
  local schemas=''
  for e in "${SCHEMAS[@]}"; do schemas+="${schemas:+,}$(sql_literal "$e")"; done
  query target "$WORK/existing-schemas" "select quote_ident(x) from unnest(array[$schemas]::text[]) x where x in (select nspname from pg_catalog.pg_namespace) order by 1;"
  local existing_schemas=()
  mapfile -d '' existing_schemas <"$WORK/existing-schemas"

  dump pre-data "$WORK/pre.dump"
  local sql="$WORK/pre.sql" s
  : >"$sql"
  for s in "${SCHEMAS[@]}"; do printf 'CREATE SCHEMA IF NOT EXISTS %s;\n' "$(sql_ident "$s")" >>"$sql"; done
  for e in "${create[@]}"; do
    printf 'CREATE SCHEMA IF NOT EXISTS %s;\n' "$(sql_ident "${e#*$'\t'}")" >>"$sql"
    printf 'CREATE EXTENSION IF NOT EXISTS %s WITH SCHEMA %s;\n' "$(sql_ident "${e%%$'\t'*}")" "$(sql_ident "${e#*$'\t'}")" >>"$sql"
  done
  restore_script "$WORK/pre.dump" "$sql" "${existing_schemas[@]}"
  apply "$sql" 'restoring the pre-data section'
  for e in "${create[@]}"; do printf 'pre: extension %s\n' "${e%%$'\t'*}"; done
  printf 'pre: restored the pre-data section into the target\n'
}

step_post() {
  TARGET_MAJOR="$(target_major)"
  plan
  local n
  for n in "${NOTICES[@]}"; do printf 'post: %s\n' "$n"; done
  dump post-data "$WORK/post.dump"
  : >"$WORK/post.sql"
  # pg_dump writes REFRESH MATERIALIZED VIEW into the post-data section for each materialized view that
  # holds data on the source (after the indexes, in dependency order); one without data stays empty.
  restore_script "$WORK/post.dump" "$WORK/post.sql"
  apply "$WORK/post.sql" 'restoring the post-data section'
  printf 'post: restored the post-data section of %d table(s) into the target\n' "${#SELECTED[@]}"
}

step_sequences() {
  TARGET_MAJOR="$(target_major)"
  plan
  if [ "${#SEQUENCES[@]}" -eq 0 ]; then
    printf 'sequences: no sequence to set\n'
    return
  fi
  local list='' s
  for s in "${SEQUENCES[@]}"; do list+="${list:+,}$(sql_literal "$s")"; done
  query target "$WORK/absent" "select x from unnest(array[$list]::text[]) x where to_regclass(x) is null order by 1;"
  local absent=()
  mapfile -d '' absent <"$WORK/absent"
  if [ "${#absent[@]}" -gt 0 ]; then
    fail target "these sequences do not exist on the target: $(joined "${absent[@]}") (run the pre step first)"
  fi
  # On the source: for each sequence, a statement for the target with the source's position in it.
  # It reads the target sequence, compares the value each would hand out next, and calls setval only
  # when the target is behind (a target ahead, e.g. after CDC inserts, is never moved back).
  local gen="begin transaction read only;
select format(\$q\$select pg_catalog.format(%L, last_value, is_called) from %s\$q\$,
  format(\$t\$with src as (select %%s::numeric as lv, %%L::boolean as called),
  cur as (select last_value::numeric as lv, is_called as called,
    (select seqincrement from pg_catalog.pg_sequence where seqrelid = %L::regclass) as inc from %s),
  pos as (select src.lv as src_lv, src.called as src_called, cur.inc,
    case when src.called then src.lv + cur.inc else src.lv end as src_next,
    case when cur.called then cur.lv + cur.inc else cur.lv end as cur_next from src, cur),
  decision as (select *, (inc > 0 and cur_next >= src_next) or (inc < 0 and cur_next <= src_next) as ahead from pos)
  select %L || chr(9) || case when ahead then 'kept' else 'set' end || chr(9) || src_next || chr(9) || cur_next
    || chr(9) || coalesce(case when not ahead then pg_catalog.setval(%L::regclass, src_lv::int8, src_called)::text end, '')
  from decision;\$t\$, y, y, y, y), x)
from unnest(array[$list]::text[]) x, replace(x, '%', '%%') y
\\gexec
commit;"
  query source "$WORK/statements" "$gen"
  local sql="$WORK/sequences.sql" statement
  : >"$sql"
  while IFS= read -r -d '' statement; do printf '%s\n' "$statement" >>"$sql"; done <"$WORK/statements"
  if ! on target psql -X -q -A -t -0 -v ON_ERROR_STOP=1 --single-transaction -o "$WORK/positions" -f "$sql" 2>"$WORK/stderr"; then
    fail target "setting the sequences failed, nothing was changed: $(sed -e "s|^psql:$sql:[0-9]*: ||" "$WORK/stderr" | awk 'NF' | head -c 4000)"
  fi
  local record name action src_next cur_next
  local set=0 kept=0
  while IFS=$'\t' read -r -d '' name action src_next cur_next _; do
    if [ "$action" = set ]; then
      set=$((set + 1))
      printf 'sequences: %s continues at %s (the source'"'"'s next value; the target was at %s)\n' "$name" "$src_next" "$cur_next"
    else
      kept=$((kept + 1))
      printf 'sequences: %s kept at %s (ahead of the source'"'"'s %s)\n' "$name" "$cur_next" "$src_next"
    fi
  done <"$WORK/positions"
  printf 'sequences: %d set, %d kept\n' "$set" "$kept"
}

# What the steps would copy, read from the source only: the selected tables, the schemas dumped, the
# relations left out, the extensions and the sequences. Changes nothing.
step_plan() {
  plan
  local x
  for x in "${NOTICES[@]}"; do printf 'plan: notice: %s\n' "$x"; done
  for x in "${SELECTED[@]}"; do printf 'plan: table %s\n' "$x"; done
  for x in "${SCHEMAS[@]}"; do printf 'plan: schema %s\n' "$x"; done
  for x in "${LEFT_OUT[@]}"; do printf 'plan: leave out %s\n' "$x"; done
  for x in "${EXTENSIONS[@]}"; do
    local name="${x#*$'\t'}"
    printf 'plan: extension %s (%s)\n' "${name%%$'\t'*}" "${x%%$'\t'*}"
  done
  for x in "${SEQUENCES[@]}"; do printf 'plan: sequence %s\n' "$x"; done
}

case "$STEP" in
  pre) step_pre ;;
  post) step_post ;;
  sequences) step_sequences ;;
  plan) step_plan ;;
esac
