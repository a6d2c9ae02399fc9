import type { BenchReportDraft, CapacityResult, CapacityStep, MicroResult } from '../lib/types';

/** Minimum interruption duration (BARGE_IN_MIN_MS default); the barge-in target is this + 40 ms. */
export const BARGE_IN_MIN_MS = 250;

/** Targets from issue #7, printed beside the measured values (and stored in the report's `targets`). */
export const TARGETS = {
  capacity_silero_calls_per_core: 200,
  capacity_webrtc_calls_per_core: 500,
  overhead_ms_p99: 5,
  bargein_ms_p99: BARGE_IN_MIN_MS + 40,
  greeting_ttfb_ms: 50,
  soak_growth_pct: 5,
} as const;

export type Status = 'ok' | 'miss' | '';

export interface SummaryRow {
  scenario: string;
  measure: string;
  measured: string;
  target: string;
  status: Status;
}

/** Human formatting of one figure: `n/a` for anything not finite. */
export function fmt(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return 'n/a';
  const a = Math.abs(n);
  if (a >= 100 || Number.isInteger(n)) return String(Math.round(n));
  if (a >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

const atMost = (v: number | undefined, limit: number): Status =>
  v === undefined || !Number.isFinite(v) ? '' : v <= limit ? 'ok' : 'miss';
const below = (v: number | undefined, limit: number): Status =>
  v === undefined || !Number.isFinite(v) ? '' : v < limit ? 'ok' : 'miss';
const atLeast = (v: number | undefined, limit: number): Status =>
  v === undefined || !Number.isFinite(v) ? '' : v >= limit ? 'ok' : 'miss';

/**
 * The step whose latencies represent the scenario: the one at the reported capacity, else the last step
 * that met the SLOs, else the first step.
 */
export function referenceStep(result: CapacityResult): CapacityStep | undefined {
  const steps = result.steps;
  return (
    steps.find((s) => s.calls === result.calls_per_core) ??
    [...steps].reverse().find((s) => s.slo_met === true) ??
    steps[0]
  );
}

/** Growth from `before` to `after` in percent (0 when both are 0). */
export function growthPct(before: number, after: number): number {
  if (before === 0) return after === 0 ? 0 : Infinity;
  return ((after - before) / before) * 100;
}

function capacityRows(
  name: string,
  result: CapacityResult,
  callsTarget: number | undefined,
  floor: number | undefined,
): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const row = (measure: string, measured: string, target = '', status: Status = '') =>
    rows.push({ scenario: name, measure, measured, target, status });
  row(
    'calls per core (SLOs met)',
    fmt(result.calls_per_core),
    callsTarget === undefined ? '' : `≥ ${callsTarget}`,
    callsTarget === undefined ? '' : atLeast(result.calls_per_core, callsTarget),
  );
  const fraction = result.floor_fraction ?? (floor ? result.calls_per_core / floor : undefined);
  if (fraction !== undefined && floor !== undefined)
    row('capacity ÷ micro floor', `${fmt(fraction * 100)} % of ${fmt(floor)}`);
  const step = referenceStep(result);
  if (!step) return rows;
  const at = `@${step.calls}`;
  row(
    `overhead_ms p50 / p99 ${at}`,
    `${fmt(step.overhead_ms.p50)} / ${fmt(step.overhead_ms.p99)}`,
    `p99 ≤ ${TARGETS.overhead_ms_p99}`,
    atMost(step.overhead_ms.p99, TARGETS.overhead_ms_p99),
  );
  row(
    `bargein_ms p50 / p99 ${at}`,
    `${fmt(step.bargein_ms.p50)} / ${fmt(step.bargein_ms.p99)}`,
    `p99 ≤ ${TARGETS.bargein_ms_p99}`,
    atMost(step.bargein_ms.p99, TARGETS.bargein_ms_p99),
  );
  row(`e2e_latency_ms p50 / p99 ${at}`, `${fmt(step.e2e_latency_ms.p50)} / ${fmt(step.e2e_latency_ms.p99)}`);
  if (step.greeting_ttfb_ms)
    row(
      `greeting_ttfb_ms p50 / p99 ${at}`,
      `${fmt(step.greeting_ttfb_ms.p50)} / ${fmt(step.greeting_ttfb_ms.p99)}`,
      `≤ ${TARGETS.greeting_ttfb_ms}`,
      atMost(step.greeting_ttfb_ms.p99, TARGETS.greeting_ttfb_ms),
    );
  row(
    `loop lag ms p99 / max ${at}`,
    `${fmt(step.loop_lag_ms.p99)} / ${fmt(step.loop_lag_ms.max)}`,
    'p99 < 20',
    below(step.loop_lag_ms.p99, 20),
  );
  row(`outbound jitter ms p99 ${at}`, fmt(step.jitter_ms.p99), '< 10', below(step.jitter_ms.p99, 10));
  row(`CPU ms per call-second ${at}`, fmt(step.cpu_ms_per_call_s));
  row(`RSS MB per call ${at}`, fmt(step.rss_mb_per_call));
  row(`dropped frames ${at}`, fmt(step.dropped_frames), '0', step.dropped_frames === 0 ? 'ok' : 'miss');
  row(`VAD delay ms p99 ${at}`, fmt(step.vad_delay_ms.p99), '< 20', below(step.vad_delay_ms.p99, 20));
  return rows;
}

function microRows(micro: MicroResult): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const [key, value] of Object.entries(micro)) {
    if (key.startsWith('floor_')) continue;
    const unit = key === 'chunker_us' ? 'µs per token' : 'µs per 20 ms frame';
    rows.push({
      scenario: 'micro',
      measure: `${key.replace(/_us$/, '')} (${unit})`,
      measured: fmt(value),
      target: '',
      status: '',
    });
  }
  rows.push({
    scenario: 'micro',
    measure: 'floor calls per core (Silero)',
    measured: fmt(micro.floor_calls_per_core),
    target: `≥ ${TARGETS.capacity_silero_calls_per_core}`,
    status: atLeast(micro.floor_calls_per_core, TARGETS.capacity_silero_calls_per_core),
  });
  if (micro.floor_calls_per_core_webrtc !== undefined)
    rows.push({
      scenario: 'micro',
      measure: 'floor calls per core (WebRTC)',
      measured: fmt(micro.floor_calls_per_core_webrtc),
      target: `≥ ${TARGETS.capacity_webrtc_calls_per_core}`,
      status: atLeast(micro.floor_calls_per_core_webrtc, TARGETS.capacity_webrtc_calls_per_core),
    });
  return rows;
}

/** Every row of the summary, in run order; scenarios absent from the report (--only) are skipped. */
export function summaryRows(report: BenchReportDraft): SummaryRow[] {
  const s = report.scenarios;
  const rows: SummaryRow[] = [];
  if (s.micro) rows.push(...microRows(s.micro));
  const floorSilero = s.micro?.floor_calls_per_core;
  const floorWebrtc = s.micro?.floor_calls_per_core_webrtc;
  if (s.capacity?.silero)
    rows.push(
      ...capacityRows(
        'capacity silero',
        s.capacity.silero,
        TARGETS.capacity_silero_calls_per_core,
        floorSilero,
      ),
    );
  if (s.capacity?.webrtc)
    rows.push(
      ...capacityRows(
        'capacity webrtc',
        s.capacity.webrtc,
        TARGETS.capacity_webrtc_calls_per_core,
        floorWebrtc,
      ),
    );
  if (s.sdk) rows.push(...capacityRows('sdk', s.sdk, undefined, floorSilero));
  if (s.local) {
    const l = s.local;
    const row = (measure: string, measured: string, target = '', status: Status = '') =>
      rows.push({ scenario: 'local', measure, measured, target, status });
    row('e2e_latency_ms p50 / p95', `${fmt(l.e2e_latency_ms.p50)} / ${fmt(l.e2e_latency_ms.p95)}`);
    row('stt_final_ms p50 / p95', `${fmt(l.stt_final_ms.p50)} / ${fmt(l.stt_final_ms.p95)}`);
    row('tts_ttfb_ms p50 / p95', `${fmt(l.tts_ttfb_ms.p50)} / ${fmt(l.tts_ttfb_ms.p95)}`);
    if (l.greeting_ttfb_ms)
      row(
        'greeting_ttfb_ms p50 / p95',
        `${fmt(l.greeting_ttfb_ms.p50)} / ${fmt(l.greeting_ttfb_ms.p95)}`,
        `≤ ${TARGETS.greeting_ttfb_ms}`,
        atMost(l.greeting_ttfb_ms.p95, TARGETS.greeting_ttfb_ms),
      );
    row('concurrent calls', fmt(l.concurrent_calls));
  }
  if (s.soak) {
    const k = s.soak;
    const limit = TARGETS.soak_growth_pct;
    const growth = (measure: string, v: { before: number; after: number }, unit: string) => {
      const g = growthPct(v.before, v.after);
      rows.push({
        scenario: 'soak',
        measure,
        measured: `${fmt(v.before)} → ${fmt(v.after)}${unit} (${g >= 0 ? '+' : ''}${fmt(g)} %)`,
        target: `≤ +${limit} %`,
        status: atMost(g, limit),
      });
    };
    rows.push({ scenario: 'soak', measure: 'calls', measured: fmt(k.calls), target: '', status: '' });
    growth('RSS', k.rss_mb, ' MB');
    growth('heap', k.heap_mb, ' MB');
    growth('handles', k.handles, '');
    for (const [name, count] of Object.entries(k.leaks ?? {}))
      rows.push({
        scenario: 'soak',
        measure: `left after soak: ${name}`,
        measured: fmt(count),
        target: '0',
        status: count === 0 ? 'ok' : 'miss',
      });
  }
  return rows;
}

/** The summary printed on stdout: a header with the machine, then one aligned row per figure. */
export function renderTable(report: BenchReportDraft): string {
  const m = report.machine;
  const lines = [
    `voxline bench ${report.quick ? '(quick) ' : ''}— commit ${report.commit}, started ${report.startedAt}`,
    `machine: ${m.cpus} × ${m.model}, ${m.memory_gb} GB, Node ${m.node}, ${m.platform}`,
    '',
  ];
  const header: [string, string, string, string, string] = ['scenario', 'measure', 'measured', 'target', ''];
  const body = summaryRows(report).map((r): [string, string, string, string, string] => [
    r.scenario,
    r.measure,
    r.measured,
    r.target,
    r.status === 'miss' ? 'MISS' : r.status,
  ]);
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  lines.push(
    line(header),
    widths
      .map((w) => '-'.repeat(w))
      .join('  ')
      .trimEnd(),
  );
  let previous = '';
  for (const r of body) {
    // The scenario name only on its first row keeps the table readable.
    lines.push(line([r[0] === previous ? '' : r[0], ...r.slice(1)]));
    previous = r[0];
  }
  const failures = report.failures ?? [];
  if (failures.length > 0) lines.push('', ...failures.map((f) => `FAILED ${f.scenario}: ${f.error}`));
  return `${lines.join('\n')}\n`;
}
