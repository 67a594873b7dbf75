import { formatKey, formatTypeChange, quoteName } from './format';
import { PreflightResult } from './preflight';
import { displayName } from './selection';
import { RowDifference, TableVerification, VerifyResult } from './verify';

/** Lays out rows as left-aligned columns separated by two spaces. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const SEVERITY_ORDER = { blocking: 0, warning: 1, info: 2 };

/** Human-readable preflight report. */
export function formatPreflight(result: PreflightResult): string {
  const findings = [...result.findings].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  const counts = { blocking: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  const out: string[] = [];
  if (findings.length > 0) {
    out.push(formatTable(['SEVERITY', 'CODE', 'TABLE', 'COLUMN', 'MESSAGE'],
      findings.map((f) => [f.severity.toUpperCase(), f.code, f.table ?? '', f.column ?? '', f.message])));
    out.push('');
  }
  out.push(`${result.tables.length} table(s) checked: ${counts.blocking} blocking, ${counts.warning} warning(s), ${counts.info} info.`);
  out.push(result.ok ? 'Preflight passed.' : 'Preflight FAILED: fix the blocking findings before starting the task.');
  return out.join('\n') + '\n';
}

function targetLabel(t: TableVerification): string {
  const s = displayName(t.source);
  const d = displayName(t.target);
  return s === d ? s : `${s} -> ${d}`;
}

function statusLabel(t: TableVerification): string {
  switch (t.status) {
    case 'match': return 'MATCH';
    case 'missing-target': return 'MISSING IN TARGET';
    case 'error': return 'ERROR';
    case 'type-changed': {
      const parts = t.typeChanges.map(formatTypeChange);
      if (t.missingColumns.length > 0) parts.push(`columns missing in target: ${t.missingColumns.join(', ')}`);
      return `TYPE CHANGED (${parts.join('; ')})`;
    }
    default: {
      const parts: string[] = [];
      if (t.mismatchedRanges > 0) {
        parts.push(t.method === 'whole-table' ? 'checksum differs (no primary key)' : `${t.mismatchedRanges}/${t.ranges} ranges differ`);
      }
      if (t.missingColumns.length > 0) parts.push(`columns missing in target: ${t.missingColumns.join(', ')}`);
      return `MISMATCH (${parts.join('; ')})`;
    }
  }
}

/** One differing row: its kind, its key and, for a row that differs, the columns that differ (never their values). */
export function formatDifference(d: RowDifference): string {
  const line = `  ${d.kind.padEnd(17)}  ${formatKey(d.key)}`;
  return d.columns && d.columns.length > 0 ? `${line}  (columns: ${d.columns.map(quoteName).join(', ')})` : line;
}

/** Rows still changing on the source in every re-check: proven neither way. */
export function unsettledRows(result: VerifyResult): number {
  return result.tables.reduce((n, t) => n + (t.recheck?.unsettledRows ?? 0), 0);
}

/**
 * What lies behind a verification's verdict, table by table: errors, type changes, the differing
 * rows (table, kind, key, differing columns) and the rows not proven under re-check.
 */
export function formatTableDetails(result: VerifyResult): string[] {
  const out: string[] = [];
  for (const t of result.tables) {
    if (t.error) out.push('', `${targetLabel(t)}: ${t.error}`);
    if (t.typeChanges.length > 0) {
      out.push('', `${targetLabel(t)}: column type changed, rows not compared (change the target column back to the source type, then verify again)`);
      for (const c of t.typeChanges) {
        const target = c.column === c.targetColumn ? '' : ` (${quoteName(c.targetColumn)} on the target)`;
        out.push(`  ${quoteName(c.column)}${target}: ${c.sourceType} on the source, ${c.targetType} on the target`);
      }
    }
    if (t.differences.length === 0) continue;
    out.push('', `${targetLabel(t)}: ${t.differences.length}${t.differencesTruncated ? '+' : ''} differing row(s)`);
    for (const d of t.differences) out.push(formatDifference(d));
  }
  for (const t of result.tables) {
    if (!t.recheck || t.recheck.unsettledRows === 0) continue;
    out.push('', `${targetLabel(t)}: ${t.recheck.unsettledRows} row(s) changed on the source again in each of ${t.recheck.rounds} re-check(s): not proven either way (stop the writes to them, then verify again)`);
    for (const d of t.recheck.unsettled) out.push(formatDifference(d));
  }
  return out;
}

/** Human-readable verify report. */
export function formatVerify(result: VerifyResult): string {
  const out: string[] = [];
  if (result.tables.length > 0) {
    out.push(formatTable(['TABLE', 'SOURCE ROWS', 'TARGET ROWS', 'STATUS'],
      result.tables.map((t) => [targetLabel(t), String(t.sourceRows), String(t.targetRows), statusLabel(t)])));
  }
  out.push(...formatTableDetails(result));
  const rechecked = result.tables.filter((t) => t.recheck);
  if (rechecked.length > 0) {
    const settled = rechecked.reduce((n, t) => n + t.recheck!.settledRows, 0);
    const rounds = Math.max(...rechecked.map((t) => t.recheck!.rounds));
    const latency = Math.max(...rechecked.map((t) => t.recheck!.maxLatencyMs));
    out.push('', `Re-checked after the replication latency: ${settled} row(s) in flight arrived and are not reported`
      + `${rounds > 0 ? ` (up to ${rounds} round(s), latency up to ${(latency / 1000).toFixed(1)} s)` : ''}.`);
  }
  for (const f of result.findings) out.push('', `${f.code}: ${f.message}`);
  for (const w of result.warnings) out.push('', `warning: ${w}`);
  const bad = result.tables.filter((t) => t.status !== 'match').length;
  const unsettled = unsettledRows(result);
  // rows changing on the source in every re-check are proven neither way: never "all match" while there are any
  const notProven = unsettled > 0
    ? `${unsettled} row(s) could not be proven: still changing on the source after the last re-check (stop the writes to the source, then verify again).`
    : '';
  if (result.ok && unsettled === 0) {
    out.push('', `All ${result.tables.length} table(s) match.`);
  } else if (result.ok) {
    out.push('', `No difference found in ${result.tables.length} table(s), but ${notProven}`);
  } else if (result.tables.length === 0) {
    out.push('', 'Verify FAILED: no table was compared.');
  } else {
    out.push('', `${bad} of ${result.tables.length} table(s) differ or could not be compared.${notProven ? ` ${notProven}` : ''}`);
  }
  return out.join('\n').replace(/^\n+/, '') + '\n';
}
