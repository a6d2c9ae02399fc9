/**
 * The benchmark report (bench/results/<timestamp>.json). Metric names follow
 * ../shared/design/architecture.md (per-turn metrics). `--quick` fills every key with a number.
 */
export interface Percentiles {
  p50: number;
  p99: number;
}

export interface CapacityStep {
  calls: number;
  loop_lag_ms: { p50: number; p99: number; max: number };
  /** Deviation of outbound frames from the 20 ms schedule, seen by the simulated callers. */
  jitter_ms: { p99: number };
  overhead_ms: Percentiles;
  bargein_ms: Percentiles;
  e2e_latency_ms: Percentiles;
  cpu_ms_per_call_s: number;
  rss_mb_per_call: number;
  dropped_frames: number;
  /**
   * How long the caller's audio waited for its VAD decision in the service (Silero's batches; WebRTC
   * decides each frame at once: 0).
   */
  vad_delay_ms: { p50: number; p99: number; max: number };
  /**
   * Did this step meet the SLOs (lag p99 < 20, jitter p99 < 10, overhead p99 < 10, no drops, and the
   * VAD keeping up: its delay p99 < 20)?
   */
  slo_met?: boolean;
  /** AudioMetadata received → first greeting frame sent, when the scenario measures it. */
  greeting_ttfb_ms?: Percentiles;
}

export interface CapacityResult {
  /** Highest N of calls on one core of the service meeting the SLOs (0 if none). */
  calls_per_core: number;
  steps: CapacityStep[];
  /** calls_per_core ÷ the micro floor for the same VAD (set by the runner when micro ran too). */
  floor_fraction?: number;
}

export interface LocalResult {
  e2e_latency_ms: { p50: number; p95: number };
  stt_final_ms: { p50: number; p95: number };
  tts_ttfb_ms: { p50: number; p95: number };
  concurrent_calls: number;
  /** AudioMetadata received → first greeting frame sent, when the scenario measures it. */
  greeting_ttfb_ms?: { p50: number; p95: number };
}

export interface SoakResult {
  calls: number;
  rss_mb: { before: number; after: number };
  heap_mb: { before: number; after: number };
  handles: { before: number; after: number };
  /** Pool leases, timers, sockets, workers left after the soak. */
  leaks?: Record<string, number>;
  /** Memory sampled during the soak (drawn as "memory over time" in the HTML report). */
  series?: SoakSample[];
}

/** One memory sample of the soak; the chart's x axis is `t_s` when every sample has it, else `calls`. */
export interface SoakSample {
  /** Seconds since the soak started. */
  t_s?: number;
  /** Calls completed (or started) when the sample was taken. */
  calls?: number;
  rss_mb: number;
  heap_mb: number;
  /** The V8 heap's committed size (what of the RSS the heap holds, used or not). */
  heap_total_mb?: number;
  /** Memory V8 tracks outside its heap (Buffers, typed arrays). */
  external_mb?: number;
  /** V8's malloc'd memory outside the heap (compiler zones and the like). */
  malloced_mb?: number;
  /** Linux: the RSS in anonymous pages (heaps, malloc arenas, WASM memories) and in mapped files' pages. */
  rss_anon_mb?: number;
  rss_file_mb?: number;
  handles?: number;
}

export interface MicroResult {
  /** µs per 20 ms frame, by operation. */
  [op: string]: number;
  floor_calls_per_core: number;
}

export interface BenchReport {
  machine: { cpus: number; model: string; memory_gb: number; node: string; platform: string };
  commit: string;
  startedAt: string;
  quick: boolean;
  scenarios: {
    capacity: { silero: CapacityResult; webrtc: CapacityResult };
    sdk: CapacityResult;
    local: LocalResult;
    soak: SoakResult;
    micro: MicroResult;
  };
  /** Targets from the issue, printed beside the measured values. */
  targets?: Record<string, number>;
  /** How derived figures are computed (e.g. the micro floor formula), by figure name. */
  notes?: Record<string, string>;
  /** Scenarios that threw: the report is then incomplete and `npm run bench` exits non-zero. */
  failures?: { scenario: string; error: string }[];
}

/**
 * What `--only` writes: `scenarios` holds only the scenarios that ran. A full run (no --only, no
 * failures) is a complete BenchReport.
 */
export type BenchReportDraft = Omit<BenchReport, 'scenarios'> & {
  scenarios: Partial<Omit<BenchReport['scenarios'], 'capacity'>> & {
    capacity?: Partial<BenchReport['scenarios']['capacity']>;
  };
};

/** What the runner hands each scenario. */
export interface BenchContext {
  quick: boolean;
  /** Progress of the running scenario (0–1) with a short label; drawn as a bar on stderr. */
  progress(label: string, fraction: number): void;
  /** A line of diagnostic output (stderr). */
  log(message: string): void;
}
