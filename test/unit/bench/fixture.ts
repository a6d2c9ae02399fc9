import type { BenchReport, CapacityResult, CapacityStep } from '../../../bench/lib/types';

export function step(calls: number, scale = 1, extra: Partial<CapacityStep> = {}): CapacityStep {
  return {
    calls,
    loop_lag_ms: { p50: 1 * scale, p99: 4 * scale, max: 9 * scale },
    jitter_ms: { p99: 2 * scale },
    overhead_ms: { p50: 1.5 * scale, p99: 3 * scale },
    bargein_ms: { p50: 262, p99: 281 },
    e2e_latency_ms: { p50: 420, p99: 610 },
    cpu_ms_per_call_s: 2.1,
    rss_mb_per_call: 0.8,
    dropped_frames: 0,
    vad_delay_ms: { p50: 3 * scale, p99: 5 * scale, max: 9 * scale },
    slo_met: scale < 4,
    ...extra,
  };
}

export function capacity(callsPerCore: number): CapacityResult {
  return {
    calls_per_core: callsPerCore,
    steps: [step(50), step(100, 2), step(200, 3), step(400, 6)],
  };
}

/** A complete report with plausible figures (not measurements). */
export function fullReport(): BenchReport {
  return {
    machine: { cpus: 2, model: 'Test CPU <fast>', memory_gb: 8, node: 'v20.0.0', platform: 'linux-x64' },
    commit: 'abc1234',
    startedAt: '2026-11-21T10:00:00.000Z',
    quick: true,
    scenarios: {
      micro: {
        codec_parse_us: 9.5,
        encode_send_us: 14.2,
        resampler_us: 10.1,
        vad_silero_us: 135,
        vad_webrtc_us: 3.9,
        chunker_us: 0.21,
        playout_us: 1.3,
        floor_calls_per_core: 117,
        floor_calls_per_core_webrtc: 511,
      },
      capacity: { silero: capacity(200), webrtc: capacity(100) },
      sdk: capacity(100),
      local: {
        e2e_latency_ms: { p50: 480, p95: 700 },
        stt_final_ms: { p50: 14, p95: 20 },
        tts_ttfb_ms: { p50: 60, p95: 80 },
        concurrent_calls: 4,
      },
      soak: {
        calls: 1000,
        rss_mb: { before: 200, after: 204 },
        heap_mb: { before: 80, after: 90 },
        handles: { before: 12, after: 12 },
        leaks: { pool_leases: 0 },
        series: [
          { t_s: 0, rss_mb: 200, heap_mb: 80 },
          { t_s: 60, rss_mb: 206, heap_mb: 88 },
          { t_s: 120, rss_mb: 204, heap_mb: 90 },
        ],
      },
    },
  };
}
