/*
 * Renders the widget grid of a sample MigrationDashboard to docs/dashboard.svg.
 *
 *   npx ts-node test/monitoring/render-dashboard-svg.ts [output.svg]
 *
 * The layout is read from the synthesized DashboardBody (x, y, width, height, title and type of
 * every widget), so the picture shows what CloudWatch will show.
 */
import { writeFileSync } from 'fs';
import { join } from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { dashboardBody, DashboardWidget } from './dashboard-body';
import { MigrationAlarms, MigrationDashboard, MonitoredMigration } from '../../lib/monitoring';

const COLUMNS = 24;
const COLUMN_WIDTH = 40;
const ROW_HEIGHT = 26;
const MARGIN = 16;
const GAP = 4;
const CHAR_WIDTH = 6.6;

const STYLES: Record<string, { fill: string; stroke: string; kind: string }> = {
  text: { fill: '#f3f4f6', stroke: '#9ca3af', kind: 'text (links)' },
  singleValue: { fill: '#ecfdf5', stroke: '#10b981', kind: 'single value' },
  timeSeries: { fill: '#eff6ff', stroke: '#3b82f6', kind: 'graph' },
  alarm: { fill: '#fff7ed', stroke: '#f97316', kind: 'alarm status' },
};

/** The dashboard of one migration with its alarms, as a user would declare it. */
export function sampleDashboardWidgets(): DashboardWidget[] {
  const stack = new Stack(new App(), 'Sample');
  const migration = MonitoredMigration.fromAttributes({
    taskArn: 'arn:aws:dms:us-east-1:123456789012:task:ABCDEFGHIJKLMNOPQRSTUVWXYZ',
    taskIdentifier: 'orders-to-neon',
    replicationInstanceIdentifier: 'neon-migration',
    displayName: 'orders → Neon',
  });
  const alarms = new MigrationAlarms(stack, 'Alarms', { migration });
  const dashboard = new MigrationDashboard(stack, 'Dashboard', { migrations: [migration] });
  dashboard.addAlarmStatus(alarms.alarms);
  return dashboardBody(stack, () => 'x').widgets;
}

/** An SVG picture of a dashboard's widget grid: one labelled box per widget on the 24-column grid. */
export function renderLayoutSvg(widgets: DashboardWidget[]): string {
  const rows = Math.max(...widgets.map((w) => w.y + w.height));
  const width = MARGIN * 2 + COLUMNS * COLUMN_WIDTH;
  const height = MARGIN * 2 + rows * ROW_HEIGHT;
  const boxes = widgets.map((widget) => {
    const style = STYLES[widgetKind(widget)] ?? STYLES.timeSeries;
    const x = MARGIN + widget.x * COLUMN_WIDTH + GAP / 2;
    const y = MARGIN + widget.y * ROW_HEIGHT + GAP / 2;
    const w = widget.width * COLUMN_WIDTH - GAP;
    const h = widget.height * ROW_HEIGHT - GAP;
    const title = fit(widgetTitle(widget), w - 16);
    return [
      '  <g>',
      `    <rect x="${x}" y="${y}" width="${w}" height="${h}" rx="4" fill="${style.fill}" stroke="${style.stroke}"/>`,
      `    <text x="${x + 8}" y="${y + 18}" font-weight="600">${escape(title)}</text>`,
      `    <text x="${x + 8}" y="${y + h - 8}" fill="#6b7280" font-size="11">${escape(style.kind)} · ${widget.width}×${widget.height}</text>`,
      '  </g>',
    ].join('\n');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    'font-family="Helvetica, Arial, sans-serif" font-size="12" fill="#111827">',
    `  <rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...boxes,
    '</svg>',
    '',
  ].join('\n');
}

function widgetKind(widget: DashboardWidget): string {
  return widget.type === 'metric' ? widget.properties.view ?? 'timeSeries' : widget.type;
}

function widgetTitle(widget: DashboardWidget): string {
  if (widget.properties.title) {
    return widget.properties.title;
  }
  const firstLine = (widget.properties.markdown ?? '').split('\n')[0];
  return firstLine.replace(/^#+\s*/, '');
}

function fit(text: string, pixels: number): string {
  const max = Math.floor(pixels / CHAR_WIDTH);
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

if (require.main === module) {
  const output = process.argv[2] ?? join(__dirname, '..', '..', 'docs', 'dashboard.svg');
  writeFileSync(output, renderLayoutSvg(sampleDashboardWidgets()));
  console.log(`wrote ${output}`);
}
