import * as zlib from 'zlib';
import { ActionItemSeverity, atLeast, SEVERITY_ORDER } from './severity';

/*
 * The CSV form of a DMS Schema Conversion assessment report, as ExportMetadataModelAssessment writes
 * it to the migration project's bucket: a ZIP archive of CSV files, among them one line per
 * occurrence of an action item (columns "Category", "Occurrence", "Action item", "Description",
 * "Recommended action", "Filtered", "Estimated complexity", "Schema name", ...), a summary by object
 * category, and a summary by action item. Read by the deploy-time handler: imports only Node.js.
 */

/** How the reports this library exports are named (`FileName`, then the request's id): DMS writes them under a folder of its own. */
export const REPORT_FILE_PREFIX = 'cdk-neon-migration-assessment-';

/** One occurrence of an action item in the report. */
export interface ActionItem {
  /** The action item's number (the report's "Action item" column). */
  readonly actionItem: string;
  readonly severity: ActionItemSeverity;
  /** How the report grades it, as written (e.g. `Complex`). */
  readonly grade: string;
  /** Where: the object's path in the metadata tree (the report's "Occurrence" column). */
  readonly occurrence: string;
  readonly schema: string;
  readonly category: string;
  readonly description: string;
  readonly recommendedAction: string;
}

/** An action item the deployment accepts: its number, limited to occurrences starting with `occurrence`. */
export interface AcknowledgedItem {
  readonly actionItem: string;
  readonly occurrence?: string;
}

/** What the gate decided. */
export interface GateResult {
  /** Items at or above the threshold that no acknowledgement covers: the deployment fails on them. */
  readonly blocking: ActionItem[];
  /** Items at or above the threshold that an acknowledgement covers. */
  readonly acknowledged: ActionItem[];
  /** Every item of the report, counted by severity. */
  readonly counts: Record<ActionItemSeverity, number>;
}

/**
 * The entries of a ZIP archive, by name. Stored and deflated entries (what ZIP writers use) are
 * read; the central directory at the end of the archive lists them.
 */
export function readZip(archive: Buffer): Map<string, Buffer> {
  const END_SIGNATURE = 0x06054b50;
  let end = -1;
  // the end-of-central-directory record is the last 22 bytes, plus a comment of up to 64 KiB
  for (let i = archive.length - 22; i >= Math.max(0, archive.length - 22 - 0xffff); i--) {
    if (archive.readUInt32LE(i) === END_SIGNATURE) {
      end = i;
      break;
    }
  }
  if (end < 0) {
    throw new Error('the assessment report is not a ZIP archive (no end of central directory)');
  }
  const count = archive.readUInt16LE(end + 10);
  let offset = archive.readUInt32LE(end + 16);
  const entries = new Map<string, Buffer>();
  for (let n = 0; n < count; n++) {
    if (archive.readUInt32LE(offset) !== 0x02014b50) {
      throw new Error('the assessment report\'s ZIP central directory is damaged');
    }
    const method = archive.readUInt16LE(offset + 10);
    const compressedSize = archive.readUInt32LE(offset + 20);
    const nameLength = archive.readUInt16LE(offset + 28);
    const extraLength = archive.readUInt16LE(offset + 30);
    const commentLength = archive.readUInt16LE(offset + 32);
    const localHeader = archive.readUInt32LE(offset + 42);
    const name = archive.subarray(offset + 46, offset + 46 + nameLength).toString('utf8');
    offset += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith('/')) {
      continue;
    }
    if (archive.readUInt32LE(localHeader) !== 0x04034b50) {
      throw new Error(`the assessment report's ZIP entry ${name} is damaged`);
    }
    const dataStart = localHeader + 30 + archive.readUInt16LE(localHeader + 26) + archive.readUInt16LE(localHeader + 28);
    const data = archive.subarray(dataStart, dataStart + compressedSize);
    if (method === 0) {
      entries.set(name, Buffer.from(data));
    } else if (method === 8) {
      entries.set(name, zlib.inflateRawSync(data));
    } else {
      throw new Error(`the assessment report's ZIP entry ${name} uses compression method ${method}, which is not read`);
    }
  }
  return entries;
}

/** The rows of a CSV text (RFC 4180: quoted fields may hold commas, line breaks and doubled quotes). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (quoted) {
      if (c === '"' && body[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && body[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += c;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter(r => r.some(value => value.trim() !== ''));
}

/** The report's grade of an item as a severity: a "Severity" column as written, else the estimated complexity. */
const FROM_GRADE: Record<string, ActionItemSeverity> = {
  critical: ActionItemSeverity.CRITICAL,
  high: ActionItemSeverity.HIGH,
  medium: ActionItemSeverity.MEDIUM,
  low: ActionItemSeverity.LOW,
  info: ActionItemSeverity.INFO,
  informational: ActionItemSeverity.INFO,
  complex: ActionItemSeverity.HIGH,
  simple: ActionItemSeverity.LOW,
};

/** A grade the report does not use (yet) counts as HIGH: unknown is not harmless. */
function severityOf(grade: string): ActionItemSeverity {
  return FROM_GRADE[grade.trim().toLowerCase()] ?? ActionItemSeverity.HIGH;
}

function isFiltered(value: string | undefined): boolean {
  return /^(yes|true|1)$/i.test((value ?? '').trim());
}

/**
 * Every action item occurrence in the report's CSV files (those with an "Action item" and an
 * "Occurrence" column). Fails when the report counts objects with actions but lists none, and when
 * none of its files is one this reader recognises (the list of occurrences, or the summary by object
 * category): a format it does not understand must not pass as a clean report.
 */
export function actionItemsOf(files: Map<string, Buffer>): ActionItem[] {
  const csvs = [...files.entries()].filter(([name]) => name.toLowerCase().endsWith('.csv'));
  if (csvs.length === 0) {
    throw new Error(`the assessment report holds no CSV file (it holds ${[...files.keys()].join(', ') || 'nothing'})`);
  }
  const items: ActionItem[] = [];
  let detailFiles = 0;
  let summaryFiles = 0;
  let objectsWithActions = 0;
  const unrecognised: string[] = [];
  for (const [name, content] of csvs) {
    const rows = parseCsv(content.toString('utf8'));
    const header = (rows[0] ?? []).map(h => h.trim().toLowerCase());
    const column = (title: string) => header.indexOf(title);
    const actionColumn = column('action item');
    const occurrenceColumn = column('occurrence');
    if (actionColumn >= 0 && occurrenceColumn >= 0) {
      detailFiles++;
      const severityColumn = column('severity') >= 0 ? column('severity') : column('estimated complexity');
      for (const row of rows.slice(1)) {
        if (isFiltered(row[column('filtered')])) continue;
        const grade = severityColumn >= 0 ? (row[severityColumn] ?? '') : '';
        items.push({
          actionItem: (row[actionColumn] ?? '').trim(),
          grade,
          severity: severityOf(grade),
          occurrence: (row[occurrenceColumn] ?? '').trim(),
          schema: (row[column('schema name')] ?? '').trim(),
          category: (row[column('category')] ?? '').trim(),
          description: (row[column('description')] ?? '').trim(),
          recommendedAction: (row[column('recommended action')] ?? '').trim(),
        });
      }
      continue;
    }
    // the summary by object category: "Objects with simple actions", "... medium-complexity actions", "... complex actions";
    // the summary by action item: its "Number of occurrences" counts what the list holds
    const actionColumns = header.map((h, i) => (/^objects with .*actions$/.test(h) || (h === 'number of occurrences' && actionColumn >= 0) ? i : -1))
      .filter(i => i >= 0);
    if (actionColumns.length > 0) {
      summaryFiles++;
    } else {
      unrecognised.push(`${name} (${header.slice(0, 4).map(h => `"${h}"`).join(', ') || 'empty'}${header.length > 4 ? ', …' : ''})`);
    }
    for (const row of rows.slice(1)) {
      for (const i of actionColumns) {
        const n = Number((row[i] ?? '').trim());
        if (Number.isFinite(n)) objectsWithActions += n;
      }
    }
  }
  if (detailFiles === 0 && summaryFiles === 0) {
    throw new Error('the assessment report holds none of the files this reader recognises (a list of action item occurrences with the columns '
      + `"Action item" and "Occurrence", or a summary with "Objects with … actions" columns): it holds ${[...files.keys()].join(', ')}`
      + `${unrecognised.length > 0 ? `; of these, with their first columns: ${unrecognised.join('; ')}` : ''}`);
  }
  if (detailFiles === 0 && objectsWithActions > 0) {
    throw new Error(`the assessment report counts ${objectsWithActions} object(s) with action items but lists none `
      + '(no CSV file with the columns "Action item" and "Occurrence")');
  }
  return items;
}

/** Decides which items block the deployment: at or above `threshold`, not acknowledged. */
export function gate(items: ActionItem[], threshold: ActionItemSeverity, acknowledged: AcknowledgedItem[]): GateResult {
  const counts = Object.fromEntries(SEVERITY_ORDER.map(s => [s, 0])) as Record<ActionItemSeverity, number>;
  const blocking: ActionItem[] = [];
  const accepted: ActionItem[] = [];
  for (const item of items) {
    counts[item.severity]++;
    if (!atLeast(item.severity, threshold)) continue;
    const covered = acknowledged.some(a => a.actionItem.trim() === item.actionItem
      && (a.occurrence === undefined || a.occurrence === '' || item.occurrence.startsWith(a.occurrence)));
    (covered ? accepted : blocking).push(item);
  }
  return { blocking, acknowledged: accepted, counts };
}

/** The counts, most serious first: `CRITICAL 0, HIGH 2, MEDIUM 1, LOW 0, INFO 4`. */
export function describeCounts(counts: Record<ActionItemSeverity, number>): string {
  return [...SEVERITY_ORDER].reverse().map(s => `${s} ${counts[s]}`).join(', ');
}

/** One item for a message: `#9997 HIGH (Complex) at <occurrence>: <description>`. */
export function describeItem(item: ActionItem, maxDescription = 160): string {
  const description = item.description.length > maxDescription ? `${item.description.slice(0, maxDescription)}…` : item.description;
  const where = item.occurrence || item.schema || item.category || 'an unnamed object';
  return `#${item.actionItem} ${item.severity}${item.grade ? ` (${item.grade})` : ''} at ${where}: ${description}`;
}
