import { barChart, esc, figures, lineChart, niceMax, renderHtml } from '../../../bench/report/html';
import type { BenchReportDraft } from '../../../bench/lib/types';
import { fullReport } from './fixture';

const count = (text: string, needle: string) => text.split(needle).length - 1;

describe('bench HTML report', () => {
  it('escapes every kind of markup-significant character', () => {
    expect(esc(`<script>alert("x") & 'y'</script>`)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;',
    );
  });

  it('is self-contained: inline CSS and SVG, no scripts, no external resources', () => {
    const html = renderHtml(fullReport());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<style>');
    expect(html).not.toMatch(/<script|<link|src=|href=/i);
  });

  it('draws one svg per chart: micro, capacity curve + latency bars per capacity result, local, memory', () => {
    const report = fullReport();
    const html = renderHtml(report);
    const ids = figures(report).map((f) => f.id);
    expect(ids).toEqual([
      'micro',
      'capacity-silero',
      'latency-silero',
      'capacity-webrtc',
      'latency-webrtc',
      'capacity-sdk',
      'latency-sdk',
      'local',
      'memory',
    ]);
    expect(count(html, '<svg')).toBe(ids.length);
    expect(count(html, '</svg>')).toBe(ids.length);
    expect(count(html, '<figure class="chart"')).toBe(ids.length);
    for (const id of ids) expect(html).toContain(`data-chart="${id}"`);
  });

  it('omits the memory chart without a soak series and charts only the scenarios present', () => {
    const report = fullReport();
    delete report.scenarios.soak.series;
    expect(figures(report).map((f) => f.id)).not.toContain('memory');
    const draft: BenchReportDraft = { ...report, scenarios: { micro: report.scenarios.micro } };
    const html = renderHtml(draft);
    expect(count(html, '<svg')).toBe(1);
  });

  it('escapes text that comes from the report (machine, failures, notes, raw JSON)', () => {
    const report: BenchReportDraft = {
      ...fullReport(),
      commit: '<img onerror=x>',
      failures: [{ scenario: 'soak', error: '<b>boom</b> & "quotes"' }],
      notes: { '<k>': '<v>' },
    };
    const html = renderHtml(report);
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>boom');
    expect(html).not.toContain('<k>');
    expect(html).toContain('&lt;b&gt;boom&lt;/b&gt; &amp; &quot;quotes&quot;');
    expect(html).toContain('Test CPU &lt;fast&gt;');
  });

  it('draws charts whose coordinates are all finite, even with n/a values', () => {
    const svg =
      lineChart({
        label: 'x',
        xLabel: 'calls',
        yLabel: 'ms',
        series: [
          {
            name: 'a',
            points: [
              [0, NaN],
              [10, 5],
              [20, Infinity],
            ],
          },
        ],
        hlines: [{ y: 20, label: 'SLO' }],
      }) +
      barChart({ label: 'y', unit: 'µs', groups: [{ label: 'g', bars: [{ name: 'p50', value: NaN }] }] });
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(svg).toContain('n/a');
  });

  it('picks 1/2/5 axis maxima', () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(7)).toBe(10);
    expect(niceMax(140)).toBe(200);
    expect(niceMax(0.3)).toBe(0.5);
    expect(niceMax(500)).toBe(500);
  });
});

describe('bench HTML memory chart', () => {
  it('plots the soak series against calls when the samples carry no time', () => {
    const report = fullReport();
    report.scenarios.soak.series = [
      { calls: 0, rss_mb: 200, heap_mb: 80 },
      { calls: 500, rss_mb: 210, heap_mb: 85 },
    ];
    const memory = figures(report).find((f) => f.id === 'memory');
    expect(memory?.svg).toContain('>calls</text>');
    expect(memory?.svg).not.toMatch(/NaN/);
  });
});
