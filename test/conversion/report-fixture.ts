import * as zlib from 'zlib';

/**
 * Assessment reports as ExportMetadataModelAssessment writes them (CSV form): a ZIP archive of three
 * CSV files, named after the target — a summary by object category, one line per occurrence of an
 * action item, and a summary by action item.
 */

/** A ZIP archive of `entries` (stored or deflated), as ZIP writers lay it out. */
export function zip(entries: Record<string, string | Buffer>, method: 'store' | 'deflate' = 'deflate'): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(entries)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
    const body = method === 'deflate' ? zlib.deflateRawSync(data) : data;
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method === 'deflate' ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(method === 'deflate' ? 8 : 0, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, body);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  const count = Object.keys(entries).length;
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** One line of the detailed CSV. */
export interface ReportLine {
  readonly category: string;
  readonly occurrence: string;
  readonly actionItem: number;
  readonly description: string;
  readonly recommendedAction?: string;
  readonly complexity: 'Simple' | 'Medium' | 'Complex' | 'Info';
  readonly filtered?: boolean;
  readonly schema: string;
}

const DETAIL_HEADER = ['Category', 'Occurrence', 'Action item', 'Subject', 'Group', 'Description', 'Documentation references',
  'Recommended action', 'Filtered', 'Estimated complexity', 'Line', 'Position', 'Source', 'Target', 'Server IP address and port',
  'Database name', 'Schema name'];

function csvLine(values: (string | number)[]): string {
  return values.map(v => {
    const text = String(v);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }).join(',');
}

/** The three CSV files of a MySQL → PostgreSQL report with `lines`, zipped. */
export function mysqlReport(lines: ReportLine[], method: 'store' | 'deflate' = 'deflate'): Buffer {
  const detail = [csvLine(DETAIL_HEADER), ...lines.map(l => csvLine([
    l.category, l.occurrence, l.actionItem, '', 'Conversion', l.description, 'https://docs.aws.amazon.com/dms/latest/userguide/',
    l.recommendedAction ?? 'Review the converted code.', l.filtered ? 'Yes' : 'No', l.complexity, 1, 1, 'MySQL 8.0.35',
    'PostgreSQL 16', 'shop-db.abcdefghijkl.us-east-1.rds.amazonaws.com:3306', '', l.schema,
  ]))].join('\r\n');
  const withActions = (complexity: string) => lines.filter(l => l.complexity === complexity).length;
  const summary = [
    csvLine(['Category', 'Number of objects', 'Objects automatically converted', 'Objects with simple actions',
      'Objects with medium-complexity actions', 'Objects with complex actions', 'Total lines of code']),
    csvLine(['TABLE', 12, 12 - lines.length, withActions('Simple'), withActions('Medium'), withActions('Complex'), 0]),
  ].join('\r\n');
  const items = [...new Set(lines.map(l => l.actionItem))];
  const itemSummary = [
    csvLine(['Schema', 'Action item', 'Number of occurrences', 'Learning curve efforts', 'Efforts to convert an occurrence',
      'Action item description', 'Recommended action']),
    ...items.map(item => {
      const first = lines.find(l => l.actionItem === item)!;
      return csvLine([first.schema, item, lines.filter(l => l.actionItem === item).length, 1, 0.5, first.description, first.recommendedAction ?? '']);
    }),
  ].join('\r\n');
  return zip({
    'PostgreSQL_Summary.csv': `\ufeff${summary}\r\n`,
    'PostgreSQL.csv': `\ufeff${detail}\r\n`,
    'PostgreSQL_Action_Items_Summary.csv': `\ufeff${itemSummary}\r\n`,
  }, method);
}

/** Action items a MySQL shop schema typically gets converted into PostgreSQL. */
export const SHOP_ITEMS: ReportLine[] = [
  {
    category: 'TABLE',
    occurrence: 'Servers.shop-db.Schemas.shop.Tables.orders.Columns.status',
    actionItem: 9997,
    complexity: 'Simple',
    description: 'PostgreSQL doesn\'t support the ENUM data type: the column is converted to VARCHAR with a CHECK constraint.',
    schema: 'shop',
  },
  {
    category: 'TRIGGER',
    occurrence: 'Servers.shop-db.Schemas.shop.Tables.orders.Triggers.orders_audit',
    actionItem: 9996,
    complexity: 'Complex',
    description: 'Unable to convert the trigger: it uses the "NEW" row in a statement PostgreSQL does not support, "LOAD DATA".',
    recommendedAction: 'Rewrite the trigger as a PL/pgSQL function.',
    schema: 'shop',
  },
  {
    category: 'PROCEDURE',
    occurrence: 'Servers.shop-db.Schemas.shop.Procedures.refresh_totals',
    actionItem: 9998,
    complexity: 'Medium',
    description: 'Dynamic SQL, "PREPARE stmt FROM @sql", is converted to EXECUTE, check it.',
    schema: 'shop',
  },
  {
    category: 'TABLE',
    occurrence: 'Servers.shop-db.Schemas.shop.Tables.legacy',
    actionItem: 9995,
    complexity: 'Info',
    filtered: true,
    description: 'MyISAM tables are converted as regular tables.',
    schema: 'shop',
  },
];
