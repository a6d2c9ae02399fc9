/**
 * The self-contained HTML report: inline CSS and hand-written inline SVG (no scripts, no external
 * resources), so the file can be attached to an issue or opened from disk. Every piece of text that
 * comes from the report goes through `esc`.
 */
import type { BenchReportDraft, CapacityResult, MicroResult, SoakSample } from '../lib/types';
import { fmt, summaryRows, TARGETS } from './table';

export function esc(text: string | number): string {
  return String(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const COLORS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2'];
const W = 860;
const H = 300;
const M = { top: 24, right: 150, bottom: 40, left: 56 };

/** Smallest 1/2/5 × 10^k at or above `v` (axis maximum). */
export function niceMax(v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const n2 = (v: number) => (Math.round(v * 10) / 10).toString();
const finite = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);

interface Figure {
  id: string;
  title: string;
  note?: string;
  svg: string;
}

function figure(f: Figure): string {
  return `<figure class="chart" data-chart="${esc(f.id)}"><figcaption>${esc(f.title)}</figcaption>${f.svg}${
    f.note ? `<p class="note">${esc(f.note)}</p>` : ''
  }</figure>`;
}

function svgOpen(label: string, height = H): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-label="${esc(label)}">`;
}

function yAxis(x0: number, y0: number, h: number, max: number, width: number, unit: string): string {
  let out = '';
  for (let i = 0; i <= 5; i++) {
    const v = (max * i) / 5;
    const y = y0 + h - (h * i) / 5;
    out += `<line x1="${x0}" x2="${x0 + width}" y1="${n2(y)}" y2="${n2(y)}" class="grid"/>`;
    out += `<text x="${x0 - 6}" y="${n2(y + 4)}" text-anchor="end">${esc(fmt(v))}</text>`;
  }
  out += `<text x="${x0 - 44}" y="${y0 + h / 2}" transform="rotate(-90 ${x0 - 44} ${y0 + h / 2})" text-anchor="middle">${esc(unit)}</text>`;
  return out;
}

function legend(items: { name: string; color: string; dashed?: boolean }[]): string {
  return items
    .map((it, i) => {
      const y = M.top + 8 + i * 18;
      const x = W - M.right + 14;
      return `<line x1="${x}" x2="${x + 18}" y1="${y}" y2="${y}" stroke="${it.color}" stroke-width="3"${
        it.dashed ? ' stroke-dasharray="5 4"' : ''
      }/><text x="${x + 24}" y="${y + 4}">${esc(it.name)}</text>`;
    })
    .join('');
}

export interface LineSeries {
  name: string;
  points: [number, number][];
}

export interface HLine {
  y: number;
  label: string;
}

/** Lines over a numeric x axis with dashed horizontal reference lines (SLOs). */
export function lineChart(opts: {
  label: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  hlines?: HLine[];
}): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const pts = opts.series.flatMap((s) => s.points).filter(([x, y]) => finite(x) && finite(y));
  const hl = opts.hlines ?? [];
  const xMin = Math.min(0, ...pts.map((p) => p[0]));
  const xMax = niceMax(Math.max(...pts.map((p) => p[0]), 1));
  const yMax = niceMax(Math.max(...pts.map((p) => p[1]), ...hl.map((h) => h.y), 0));
  const sx = (x: number) => M.left + ((x - xMin) / (xMax - xMin || 1)) * pw;
  const sy = (y: number) => M.top + ph - (Math.min(y, yMax) / yMax) * ph;
  let out = svgOpen(opts.label) + yAxis(M.left, M.top, ph, yMax, pw, opts.yLabel);
  for (let i = 0; i <= 5; i++) {
    const v = xMin + ((xMax - xMin) * i) / 5;
    out += `<text x="${n2(sx(v))}" y="${H - M.bottom + 16}" text-anchor="middle">${esc(fmt(v))}</text>`;
  }
  out += `<text x="${M.left + pw / 2}" y="${H - 6}" text-anchor="middle">${esc(opts.xLabel)}</text>`;
  const items: { name: string; color: string; dashed?: boolean }[] = opts.series.map((s, i) => ({
    name: s.name,
    color: COLORS[i % COLORS.length],
  }));
  hl.forEach((h, i) => {
    const color = ['#6b7280', '#9ca3af', '#111827'][i % 3];
    out += `<line x1="${M.left}" x2="${M.left + pw}" y1="${n2(sy(h.y))}" y2="${n2(sy(h.y))}" stroke="${color}" stroke-width="1.5" stroke-dasharray="5 4"/>`;
    items.push({ name: h.label, color, dashed: true });
  });
  opts.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const p = s.points.filter(([x, y]) => finite(x) && finite(y));
    if (p.length > 0) {
      out += `<polyline fill="none" stroke="${color}" stroke-width="2" points="${p
        .map(([x, y]) => `${n2(sx(x))},${n2(sy(y))}`)
        .join(' ')}"/>`;
      out += p
        .map(
          ([x, y]) =>
            `<circle cx="${n2(sx(x))}" cy="${n2(sy(y))}" r="3" fill="${color}"><title>${esc(`${s.name}: ${fmt(y)} at ${fmt(x)}`)}</title></circle>`,
        )
        .join('');
    }
  });
  return `${out}${legend(items)}</svg>`;
}

export interface BarGroup {
  label: string;
  bars: { name: string; value: number }[];
  /** Groups with the same key share a scale (default: one scale for all, with a value axis). */
  scaleKey?: string;
}

/** Horizontal bars, one row per bar, grouped; values printed at the end of each bar. */
export function barChart(opts: { label: string; unit: string; groups: BarGroup[] }): string {
  const rowH = 18;
  const rows = opts.groups.reduce((n, g) => n + g.bars.length, 0) + opts.groups.length * 0.6;
  const height = Math.max(120, Math.ceil(M.top + rows * rowH + M.bottom));
  const left = 220;
  const pw = W - left - M.right;
  const maxOf = (key: string | undefined) =>
    niceMax(
      Math.max(
        ...opts.groups
          .filter((g) => g.scaleKey === key)
          .flatMap((g) => g.bars.map((b) => b.value))
          .filter(finite),
        0,
      ),
    );
  const keys = new Set(opts.groups.map((g) => g.scaleKey));
  const maxes = new Map([...keys].map((k) => [k, maxOf(k)]));
  const max = maxes.get([...keys][0]) ?? 1;
  const names = [...new Set(opts.groups.flatMap((g) => g.bars.map((b) => b.name)))];
  let out = svgOpen(opts.label, height);
  // One shared scale gets a value axis; per-metric scales are read from the values printed on the bars.
  for (let i = 0; i <= 5 && keys.size === 1; i++) {
    const x = left + (pw * i) / 5;
    out += `<line x1="${n2(x)}" x2="${n2(x)}" y1="${M.top}" y2="${height - M.bottom}" class="grid"/>`;
    out += `<text x="${n2(x)}" y="${height - M.bottom + 16}" text-anchor="middle">${esc(fmt((max * i) / 5))}</text>`;
  }
  out += `<text x="${left + pw / 2}" y="${height - 6}" text-anchor="middle">${esc(opts.unit)}</text>`;
  let y = M.top;
  for (const g of opts.groups) {
    out += `<text x="${left - 8}" y="${n2(y + rowH * 0.7)}" text-anchor="end" class="group">${esc(g.label)}</text>`;
    const gmax = maxes.get(g.scaleKey) ?? 1;
    for (const b of g.bars) {
      const color = COLORS[names.indexOf(b.name) % COLORS.length];
      const w = finite(b.value) ? (Math.min(b.value, gmax) / gmax) * pw : 0;
      out += `<rect x="${left}" y="${n2(y + 2)}" width="${n2(Math.max(w, 0))}" height="${rowH - 4}" fill="${color}"><title>${esc(`${g.label} ${b.name}: ${fmt(b.value)} ${opts.unit}`)}</title></rect>`;
      out += `<text x="${n2(left + Math.max(w, 0) + 4)}" y="${n2(y + rowH * 0.7)}">${esc(`${b.name} ${fmt(b.value)}`)}</text>`;
      y += rowH;
    }
    y += rowH * 0.6;
  }
  return `${out}${legend(names.map((name, i) => ({ name, color: COLORS[i % COLORS.length] })))}</svg>`;
}

function capacityFigures(id: string, name: string, r: CapacityResult): Figure[] {
  const steps = r.steps;
  const curve: Figure = {
    id: `capacity-${id}`,
    title: `${name}: capacity curve (calls per core: ${fmt(r.calls_per_core)})`,
    svg: lineChart({
      label: `${name} capacity curve`,
      xLabel: 'concurrent calls',
      yLabel: 'ms',
      series: [
        { name: 'loop lag p99', points: steps.map((s) => [s.calls, s.loop_lag_ms.p99]) },
        { name: 'jitter p99', points: steps.map((s) => [s.calls, s.jitter_ms.p99]) },
        { name: 'overhead p99', points: steps.map((s) => [s.calls, s.overhead_ms.p99]) },
      ],
      hlines: [
        { y: 20, label: 'SLO loop lag 20' },
        { y: 10, label: 'SLO jitter/overhead 10' },
        { y: TARGETS.overhead_ms_p99, label: `target overhead ${TARGETS.overhead_ms_p99}` },
      ],
    }),
  };
  const metrics = [
    ['overhead_ms', (s: CapacityResult['steps'][number]) => s.overhead_ms],
    ['bargein_ms', (s: CapacityResult['steps'][number]) => s.bargein_ms],
    ['e2e_latency_ms', (s: CapacityResult['steps'][number]) => s.e2e_latency_ms],
  ] as const;
  const latency: Figure = {
    id: `latency-${id}`,
    title: `${name}: latency p50 / p99 per step`,
    note: `Each metric has its own scale. Targets: overhead_ms p99 ≤ ${TARGETS.overhead_ms_p99}, bargein_ms p99 ≤ ${TARGETS.bargein_ms_p99}.`,
    svg: barChart({
      label: `${name} latency per step`,
      unit: 'ms',
      groups: metrics.flatMap(([metric, get]) =>
        steps.map((s) => ({
          label: `${metric} @${s.calls}`,
          scaleKey: metric,
          bars: [
            { name: 'p50', value: get(s).p50 },
            { name: 'p99', value: get(s).p99 },
          ],
        })),
      ),
    }),
  };
  return [curve, latency];
}

function microFigure(micro: MicroResult): Figure {
  const ops = Object.entries(micro).filter(([k]) => !k.startsWith('floor_'));
  return {
    id: 'micro',
    title: `micro: cost per 20 ms frame (floor: ${fmt(micro.floor_calls_per_core)} calls per core with Silero, ${fmt(
      micro.floor_calls_per_core_webrtc,
    )} with WebRTC)`,
    note: 'chunker_us is per LLM token, not per frame.',
    svg: barChart({
      label: 'micro costs',
      unit: 'µs',
      groups: ops.map(([k, v]) => ({ label: k, bars: [{ name: 'µs', value: v }] })),
    }),
  };
}

function memoryFigure(series: SoakSample[]): Figure {
  const byTime = series.every((p) => p.t_s !== undefined);
  const x = (p: SoakSample) => (byTime ? p.t_s : p.calls) ?? NaN;
  // Older reports' samples lack some measures: no line for those.
  const optional = (name: string, y: (p: SoakSample) => number | undefined) =>
    series.every((p) => y(p) !== undefined)
      ? [{ name, points: series.map((p): [number, number] => [x(p), y(p)!]) }]
      : [];
  return {
    id: 'memory',
    title: 'soak: memory over time',
    svg: lineChart({
      label: 'memory over time',
      xLabel: byTime ? 'seconds' : 'calls',
      yLabel: 'MB',
      series: [
        { name: 'RSS', points: series.map((p) => [x(p), p.rss_mb]) },
        { name: 'heap used', points: series.map((p) => [x(p), p.heap_mb]) },
        ...optional('heap committed', (p) => p.heap_total_mb),
        ...optional('external', (p) => p.external_mb),
      ],
    }),
  };
}

/** The figures the report draws, in order (exported so tests can count them). */
export function figures(report: BenchReportDraft): Figure[] {
  const s = report.scenarios;
  const out: Figure[] = [];
  if (s.micro) out.push(microFigure(s.micro));
  if (s.capacity?.silero) out.push(...capacityFigures('silero', 'capacity (Silero VAD)', s.capacity.silero));
  if (s.capacity?.webrtc) out.push(...capacityFigures('webrtc', 'capacity (WebRTC VAD)', s.capacity.webrtc));
  if (s.sdk) out.push(...capacityFigures('sdk', 'sdk', s.sdk));
  if (s.local) {
    const l = s.local;
    const metrics: [string, { p50: number; p95: number }][] = [
      ['e2e_latency_ms', l.e2e_latency_ms],
      ['stt_final_ms', l.stt_final_ms],
      ['tts_ttfb_ms', l.tts_ttfb_ms],
    ];
    if (l.greeting_ttfb_ms) metrics.push(['greeting_ttfb_ms', l.greeting_ttfb_ms]);
    const groups: BarGroup[] = metrics.map(([label, v]) => ({
      label,
      bars: [
        { name: 'p50', value: v.p50 },
        { name: 'p95', value: v.p95 },
      ],
    }));
    out.push({
      id: 'local',
      title: `local (embedded engines, ${fmt(l.concurrent_calls)} concurrent calls): latency p50 / p95`,
      svg: barChart({ label: 'local latency', unit: 'ms', groups }),
    });
  }
  if (s.soak?.series && s.soak.series.length > 0) out.push(memoryFigure(s.soak.series));
  return out;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;color:#111827;margin:24px auto;max-width:920px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#4b5563;margin:0 0 16px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #e5e7eb;vertical-align:top}
th{background:#f3f4f6}td.ok{color:#047857;font-weight:600}td.miss{color:#b91c1c;font-weight:700}
figure.chart{margin:20px 0;padding:0}figcaption{font-weight:600;margin-bottom:6px}
svg{max-width:100%;height:auto;background:#fff}svg text{font:11px system-ui,sans-serif;fill:#374151}
svg text.group{font-weight:600}svg .grid{stroke:#e5e7eb;stroke-width:1}
.note{color:#4b5563;font-size:12px;margin:4px 0 0}.failed{color:#b91c1c;font-weight:600}
pre{background:#f9fafb;border:1px solid #e5e7eb;padding:8px;overflow:auto;font-size:12px}
`;

export function renderHtml(report: BenchReportDraft): string {
  const m = report.machine;
  const rows = summaryRows(report)
    .map(
      (r) =>
        `<tr><td>${esc(r.scenario)}</td><td>${esc(r.measure)}</td><td>${esc(r.measured)}</td><td>${esc(
          r.target,
        )}</td><td class="${r.status}">${r.status === 'miss' ? 'MISS' : esc(r.status)}</td></tr>`,
    )
    .join('\n');
  const failures = (report.failures ?? [])
    .map((f) => `<p class="failed">FAILED ${esc(f.scenario)}: ${esc(f.error)}</p>`)
    .join('\n');
  const notes = Object.entries(report.notes ?? {})
    .map(([k, v]) => `<li><code>${esc(k)}</code>: ${esc(v)}</li>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(`voxline bench ${report.startedAt}`)}</title><style>${CSS}</style></head>
<body>
<h1>voxline benchmark${report.quick ? ' (quick)' : ''}</h1>
<p class="meta">${esc(`commit ${report.commit} · started ${report.startedAt} · ${m.cpus} × ${m.model} · ${m.memory_gb} GB · Node ${m.node} · ${m.platform}`)}</p>
${failures}
<h2>Summary</h2>
<table><thead><tr><th>scenario</th><th>measure</th><th>measured</th><th>target</th><th></th></tr></thead>
<tbody>
${rows}
</tbody></table>
${notes ? `<ul class="note">${notes}</ul>` : ''}
<h2>Charts</h2>
${figures(report).map(figure).join('\n')}
<h2>Raw report</h2>
<details><summary>JSON</summary><pre>${esc(JSON.stringify(report, null, 2))}</pre></details>
</body></html>
`;
}
