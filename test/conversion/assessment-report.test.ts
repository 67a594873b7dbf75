import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { mysqlReport, SHOP_ITEMS, zip } from './report-fixture';
import { actionItemsOf, describeCounts, gate, parseCsv, readZip } from '../../lib/conversion/assessment-report';
import { ActionItemSeverity } from '../../lib/conversion/severity';

describe('the assessment report archive', () => {
  test.each(['store', 'deflate'] as const)('entries %sd by a ZIP writer are read back', (method) => {
    const archive = zip({ 'a.csv': 'x,y\n1,2\n', 'dir/b.csv': 'é,"quoted, comma"\n' }, method);
    const entries = readZip(archive);
    expect([...entries.keys()]).toEqual(['a.csv', 'dir/b.csv']);
    expect(entries.get('dir/b.csv')!.toString('utf8')).toBe('é,"quoted, comma"\n');
  });

  test('an archive made by another ZIP implementation (Python\'s zipfile, deflated, with a directory entry and a comment) is read', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
    const file = path.join(dir, 'report.zip');
    const script = [
      'import sys, zipfile',
      'with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:',
      '    z.writestr("reports/", "")',
      '    z.writestr("reports/PostgreSQL.csv", "Category,Occurrence,Action item,Estimated complexity\\r\\nTABLE,Servers.s.Schemas.shop.Tables.t,9997,Complex\\r\\n")',
      '    z.comment = b"exported by a test"',
    ].join('\n');
    const run = spawnSync('python3', ['-c', script, file]);
    expect(run.status).toBe(0);
    const entries = readZip(fs.readFileSync(file));
    expect([...entries.keys()]).toEqual(['reports/PostgreSQL.csv']);
    expect(actionItemsOf(entries)).toEqual([expect.objectContaining({ actionItem: '9997', severity: ActionItemSeverity.HIGH, grade: 'Complex' })]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('something that is not a ZIP archive is refused', () => {
    expect(() => readZip(Buffer.from('PK? not really'))).toThrow(/not a ZIP archive/);
  });
});

describe('CSV', () => {
  test('quoted fields hold commas, line breaks and doubled quotes; CRLF lines; a byte-order mark; blank lines dropped', () => {
    expect(parseCsv('\ufeffa,"b, c","say ""hi""\r\nthere"\r\n\r\n1,,3')).toEqual([
      ['a', 'b, c', 'say "hi"\r\nthere'],
      ['1', '', '3'],
    ]);
  });
});

describe('action items', () => {
  test('every unfiltered occurrence of the detailed CSV, graded by its estimated complexity', () => {
    const items = actionItemsOf(readZip(mysqlReport(SHOP_ITEMS)));
    expect(items.map(i => [i.actionItem, i.severity, i.schema])).toEqual([
      ['9997', ActionItemSeverity.LOW, 'shop'],
      ['9996', ActionItemSeverity.HIGH, 'shop'],
      ['9998', ActionItemSeverity.MEDIUM, 'shop'],
    ]);
    expect(items[1].description).toContain('"NEW" row');
    expect(items[1].occurrence).toBe('Servers.shop-db.Schemas.shop.Tables.orders.Triggers.orders_audit');
  });

  test('a Severity column, where the report has one, is read as written; a grade it does not know counts as HIGH', () => {
    const csv = 'Category,Occurrence,Action item,Severity\nTABLE,a,1,Critical\nTABLE,b,2,info\nTABLE,c,3,Whatever\n';
    expect(actionItemsOf(new Map([['x.csv', Buffer.from(csv)]])).map(i => i.severity))
      .toEqual([ActionItemSeverity.CRITICAL, ActionItemSeverity.INFO, ActionItemSeverity.HIGH]);
  });

  test('a report with no action items is clean', () => {
    expect(actionItemsOf(readZip(mysqlReport([])))).toEqual([]);
  });

  test('a report that counts objects with actions but lists none is not taken for a clean one', () => {
    const summaryOnly = 'Category,Number of objects,Objects automatically converted,Objects with simple actions,Objects with complex actions\nTABLE,3,1,1,1\n';
    expect(() => actionItemsOf(new Map([['PostgreSQL_Summary.csv', Buffer.from(summaryOnly)]]))).toThrow(/counts 2 object\(s\) with action items but lists none/);
    expect(() => actionItemsOf(new Map([['report.pdf', Buffer.from('%PDF')]]))).toThrow(/holds no CSV file \(it holds report.pdf\)/);
  });
});

describe('a report of no file this reader recognises fails instead of passing', () => {
  test('CSV files without the list of occurrences or a summary are named with their first columns', () => {
    const files = new Map([
      ['report/Overview.csv', Buffer.from('Server,Database,Version\nshop-db,shop,8.0\n')],
      ['report/Notes.csv', Buffer.from('Note,Text,Author,Date,Extra\n1,x,y,z,w\n')],
      ['report/readme.txt', Buffer.from('hello')],
    ]);
    expect(() => actionItemsOf(files)).toThrow('the assessment report holds none of the files this reader recognises (a list of action item '
      + 'occurrences with the columns "Action item" and "Occurrence", or a summary with "Objects with … actions" columns): it holds '
      + 'report/Overview.csv, report/Notes.csv, report/readme.txt; of these, with their first columns: report/Overview.csv ("server", "database", '
      + '"version"); report/Notes.csv ("note", "text", "author", "date", …)');
  });

  test('the three files of a real report, each alone: the list and the summary by object category are recognised, the summary by action item counts its occurrences', () => {
    const files = readZip(mysqlReport(SHOP_ITEMS));
    const only = (name: string) => new Map([[name, files.get(name)!]]);
    expect(actionItemsOf(only('PostgreSQL.csv'))).toHaveLength(3);
    // the summary by object category lists no item: with actions counted it fails, with none it is a clean report
    expect(() => actionItemsOf(only('PostgreSQL_Summary.csv'))).toThrow(/counts 3 object\(s\) with action items but lists none/);
    expect(actionItemsOf(readZip(mysqlReport([]))).length).toBe(0);
    expect(() => actionItemsOf(only('PostgreSQL_Action_Items_Summary.csv'))).toThrow(/counts 4 object\(s\) with action items but lists none/);
  });

  test('an empty archive of CSV files is not a clean report', () => {
    expect(() => actionItemsOf(new Map([['empty.csv', Buffer.from('')]]))).toThrow(/holds none of the files this reader recognises .* empty.csv \(empty\)/);
  });
});

describe('the gate', () => {
  const items = actionItemsOf(readZip(mysqlReport(SHOP_ITEMS)));

  test('items at or above the threshold block the deployment, the others are counted', () => {
    const result = gate(items, ActionItemSeverity.HIGH, []);
    expect(result.blocking.map(i => i.actionItem)).toEqual(['9996']);
    expect(describeCounts(result.counts)).toBe('CRITICAL 0, HIGH 1, MEDIUM 1, LOW 1, INFO 0');
    expect(gate(items, ActionItemSeverity.MEDIUM, []).blocking.map(i => i.actionItem)).toEqual(['9996', '9998']);
    expect(gate(items, ActionItemSeverity.CRITICAL, []).blocking).toEqual([]);
  });

  test('an acknowledgement covers an action item, everywhere or under an object path only', () => {
    expect(gate(items, ActionItemSeverity.MEDIUM, [{ actionItem: '9996' }]).blocking.map(i => i.actionItem)).toEqual(['9998']);
    const scoped = gate(items, ActionItemSeverity.MEDIUM, [{ actionItem: '9996', occurrence: 'Servers.shop-db.Schemas.shop.Tables.orders' }]);
    expect(scoped.acknowledged.map(i => i.actionItem)).toEqual(['9996']);
    const elsewhere = gate(items, ActionItemSeverity.MEDIUM, [{ actionItem: '9996', occurrence: 'Servers.shop-db.Schemas.shop.Tables.customers' }]);
    expect(elsewhere.blocking.map(i => i.actionItem)).toEqual(['9996', '9998']);
  });
});
