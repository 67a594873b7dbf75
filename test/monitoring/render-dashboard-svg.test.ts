import { renderLayoutSvg, sampleDashboardWidgets } from './render-dashboard-svg';

describe('dashboard layout rendering', () => {
  test('one box per widget on the 24-column grid, with its title', () => {
    const widgets = sampleDashboardWidgets();
    const svg = renderLayoutSvg(widgets);
    expect(svg.match(/<rect x=/g)).toHaveLength(widgets.length);
    expect(svg).toContain('width="992"');
    expect(svg).toContain('>Migration orders → Neon</text>');
    expect(svg).toContain('>CDC latency (seconds)</text>');
    expect(svg).toContain('>Migration alarms</text>');
    expect(svg).toContain('alarm status · 24×3');
  });
});
