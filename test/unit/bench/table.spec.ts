import {
  fmt,
  growthPct,
  referenceStep,
  renderTable,
  summaryRows,
  TARGETS,
} from '../../../bench/report/table';
import type { BenchReportDraft } from '../../../bench/lib/types';
import { capacity, fullReport } from './fixture';

describe('bench summary table', () => {
  it('prints every scenario with targets beside measured values', () => {
    const text = renderTable(fullReport());
    expect(text).toContain('commit abc1234');
    expect(text).toContain('2 × Test CPU <fast>');
    for (const scenario of ['micro', 'capacity silero', 'capacity webrtc', 'sdk', 'local', 'soak'])
      expect(text).toMatch(new RegExp(`^${scenario}\\s`, 'm'));
    const line = (needle: string) => text.split('\n').find((l) => l.includes(needle)) ?? '';
    expect(line('calls per core (SLOs met)')).toMatch(/200\s+≥ 200\s+ok$/);
    expect(text).toMatch(/calls per core \(SLOs met\)\s+100\s+≥ 500\s+MISS/);
    expect(line('overhead_ms p50 / p99 @200')).toMatch(/4\.50 \/ 9\s+p99 ≤ 5\s+MISS$/);
    expect(line('bargein_ms p50 / p99 @200')).toContain(`p99 ≤ ${BARGE_IN_TARGET}`);
    expect(line('capacity ÷ micro floor')).toContain('% of 117');
    expect(line('heap')).toMatch(/80 → 90 MB \(\+12\.5 %\)\s+≤ \+5 %\s+MISS$/);
    expect(line('200 → 204 MB')).toMatch(/\(\+2 %\)\s+≤ \+5 %\s+ok$/);
    expect(line('chunker')).toContain('µs per token');
  });

  it('aligns columns: every row has the measure column at the same offset', () => {
    const lines = renderTable(fullReport()).split('\n');
    const header = lines.findIndex((l) => l.startsWith('scenario'));
    const measureAt = lines[header].indexOf('measure');
    for (const l of lines.slice(header + 2).filter(Boolean)) expect(l[measureAt - 1]).toBe(' ');
  });

  it('prints only the scenarios present (--only) and the failures', () => {
    const draft: BenchReportDraft = {
      ...fullReport(),
      scenarios: { micro: fullReport().scenarios.micro },
      failures: [{ scenario: 'capacity silero', error: 'boom' }],
    };
    const rows = summaryRows(draft);
    expect(new Set(rows.map((r) => r.scenario))).toEqual(new Set(['micro']));
    expect(renderTable(draft)).toContain('FAILED capacity silero: boom');
  });

  it('uses the barge-in target BARGE_IN_MIN_MS + 40', () => {
    expect(TARGETS.bargein_ms_p99).toBe(290);
  });

  it('takes the reference step at the reported capacity, else the last step meeting the SLOs', () => {
    expect(referenceStep(capacity(200))?.calls).toBe(200);
    expect(referenceStep(capacity(150))?.calls).toBe(200); // slo_met on 50, 100, 200
    expect(referenceStep({ calls_per_core: 0, steps: [] })).toBeUndefined();
  });

  it('formats figures and growth', () => {
    expect(fmt(NaN)).toBe('n/a');
    expect(fmt(undefined)).toBe('n/a');
    expect(fmt(1234.4)).toBe('1234');
    expect(fmt(12.34)).toBe('12.3');
    expect(fmt(1.234)).toBe('1.23');
    expect(fmt(3)).toBe('3');
    expect(growthPct(100, 105)).toBe(5);
    expect(growthPct(0, 0)).toBe(0);
    expect(growthPct(0, 1)).toBe(Infinity);
  });
});

const BARGE_IN_TARGET = 290;
