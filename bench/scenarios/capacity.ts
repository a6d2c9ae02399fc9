import { createWriteStream } from 'node:fs';
import { percentiles, round } from '../lib/stats';
import { BenchChild, parseFlags } from '../lib/ipc';
import type { ClientStats, PrepareResult } from '../lib/load';
import { HOST_STALL_MS, HostStallProbe } from '../lib/host-stall';
import { callsPerCore, decidingWindow, needsAnotherWindow, sloViolations } from '../lib/load-math';
import type { GcSummary } from '../lib/gc-profile';
import type { BenchContext, CapacityResult, CapacityStep } from '../lib/types';

/**
 * capacity: N concurrent simulated ACS calls against the whole service pinned to CPU 0 (real media
 * gateway, cascade and VAD; provider fakes with realistic latencies), the load generator pinned to
 * CPU 1. Steps grow the number of calls (the calls of a step keep talking into the next); each step
 * ramps the new calls in, lets them settle, then measures. Stops after the first step that breaks the
 * SLOs. Also the engine of the sdk scenario (`runCapacity` with other service settings).
 */

export const FULL_STEPS = [25, 50, 100, 200, 300, 400, 500, 600, 800];
export const QUICK_STEPS = [5, 10];

export interface ServiceStats {
  elapsed_ms: number;
  cpu_ms: number;
  lag_ms: { p50: number; p99: number; max: number; mean: number; count: number };
  memory: { rss_mb: number; heap_used_mb: number };
  handles: { total: number; byType: Record<string, number> };
  media_sockets: number;
  /** How late the service's playout pacing timers fired (its share of the jitter). */
  pacing_late_ms: { p50: number; p99: number; max: number; count: number };
  gc_pauses: {
    max_ms: number;
    count: number;
    over_5ms: number;
    over_10ms: number;
    slow_by_kind: Record<string, number>;
  };
  vad_windows_per_run?: number;
  /** Silero: how long batched windows waited for their probability (absent with WebRTC: no wait). */
  vad_delay_ms?: { p50: number; p99: number; max: number; count: number };
  turns: number;
  turn_metrics: Record<string, number[]>;
  pools: Array<{ name: string; inUse: number; waiting: number }>;
  /** GC activity in the window (GCProfiler): collections by type, MB allocated / promoted. */
  gc?: GcSummary;
  /** With --alloc-profile: the window's sampling allocation profile. */
  alloc_profile?: string;
}

export interface CapacityStepDetail extends CapacityStep {
  /** Frames that arrived after the caller's playback buffer ran dry mid-reply (counted in dropped_frames). */
  late_frames?: number;
  frames_received?: number;
  turns?: number;
  bargeins?: number;
  reply_timeouts?: number;
  /** Calls open at the end of the window, when not all of them were. */
  calls_open?: number;
  closed_by_service?: number;
  /** The windows measured for this step when there was more than one (see needsAnotherWindow). */
  windows?: Array<{
    slo_met: boolean;
    /** Broke the SLOs while the host stalled: not counted (see needsAnotherWindow). */
    inconclusive?: boolean;
    jitter_p99_ms: number;
    loop_lag_p99_ms: number;
    host_stall_ms: number;
    violations?: string[];
  }>;
  /**
   * How late the runner's idle 5 ms timer fired in the window: the longest, and how many times by
   * HOST_STALL_MS or more (the host not running this VM; bench/lib/host-stall.ts).
   */
  host_stall_ms?: { max_ms: number; stalls: number };
  /** This window broke the SLOs during a host stall. */
  inconclusive?: boolean;
  /** Service-side (session turn metrics) latencies, for comparison with the client-side ones. */
  server?: { e2e_latency_ms: { p50: number; p99: number }; bargein_ms: { p50: number; p99: number } };
  /** The load generator's own event-loop lag: when high, client-side figures are not trustworthy. */
  generator_lag_p99_ms?: number;
  /** Service-side pacing: how late its playout timers fired (p99, max), the service's share of jitter. */
  pacing_late_ms?: { p99: number; max: number };
  /** Silero: call windows per batched inference (higher is cheaper per call). */
  vad_windows_per_run?: number;
  /** GC pauses in the window (service / load generator): the longest, and how many over 10 ms. */
  gc_pause_ms?: {
    service_max: number;
    service_over_10: number;
    generator_max: number;
    generator_over_10: number;
    /** Pauses over 5 ms by kind (major, minor…). */
    service_slow_by_kind: Record<string, number>;
    generator_slow_by_kind: Record<string, number>;
  };
  /** Service GC activity in the window: collections by type, MB allocated / promoted, per call-second. */
  service_gc?: GcSummary & { allocated_mb_per_call_s: number; alloc_profile?: string };
  violations?: string[];
}

export interface CapacityRunResult extends CapacityResult {
  steps: CapacityStepDetail[];
  /** Service and generator each pinned to their own CPU with taskset. */
  pinned?: boolean;
  vad?: string;
  measure_s?: number;
  vad_speech_share?: PrepareResult['vad_speech_share'];
  notes?: string[];
}

export interface CapacityOptions {
  vad: 'silero' | 'webrtc';
  steps?: number[];
  rampMs?: number;
  settleMs?: number;
  measureMs?: number;
  /** Extra service argv (latencies, --engines config) and environment (drivers). */
  serviceArgs?: string[];
  serviceEnv?: Record<string, string>;
  /** Node flags for the service (e.g. --cpu-prof to find where its time goes). */
  serviceNodeFlags?: string[];
  /** Writes the service's stdout there (use with the --trace-gc node flag). */
  traceGcFile?: string;
  /** Node flags for the load generator (its own --cpu-prof or --trace-gc, to see what disturbs it). */
  generatorNodeFlags?: string[];
  /** Writes the load generator's stdout there (use with --trace-gc in generatorNodeFlags). */
  generatorTraceGcFile?: string;
  /** Started before the service (the sdk fakes); closed at the end. */
  before?: () => Promise<{ env: Record<string, string>; close: () => Promise<void> }>;
  label?: string;
  bargeInProbability?: number;
  /**
   * Conclusive windows per step at most; a step meets the SLOs when most of them do (default 3, quick
   * 1). Windows that broke the SLOs during a host stall are measured again, up to two more.
   */
  maxWindows?: number;
  /**
   * Load before the first step, then hung up: the service's JIT warm-up and the growth of its old
   * generation (mark-compact collections while V8 sizes the heap) are not a step's steady state.
   * Default 100 calls for 15 s (none with --quick).
   */
  warmup?: { calls: number; ms: number };
}

const p = (values: number[]) => {
  const r = percentiles(values, [50, 99]);
  return { p50: round(r.p50, 1), p99: round(r.p99, 1) };
};

/**
 * V8 flags the service ships with (package.json `start`, the Dockerfile; docs/benchmarks.md, "Garbage
 * collection"):
 * - old generation growing to twice its live size: V8 counts the external memory allocated since the
 *   last mark-compact (every socket read is a new Buffer) against the old generation's limit, and with
 *   an old generation that hardly grows it sets that limit only ~8 MB above the live size, so at 100
 *   calls the socket reads alone started a mark-compact every few seconds (5 in 10 s, up to 54 ms each);
 * - a fixed young generation: one that V8 shrinks and grows again leaves the old generation's headroom
 *   below its size right after each mark-compact, which starts the next one at once (44 mark-compacts
 *   in ~45 s at 200 Silero calls); 16 MB semi-spaces scavenge more often than 64 but for less time
 *   (longest pauses mostly 6-11 ms against 12-16 at 300 WebRTC calls).
 * The load generator runs with them too: it reads as many frames as the service.
 */
export const NODE_FLAGS = [
  '--max-semi-space-size=16',
  '--min-semi-space-size=16',
  '--heap-growing-percent=100',
];
/**
 * The service's flags add `--single-threaded-gc`: V8's concurrent marking and parallel GC threads only
 * compete with the event loop on the service's one core. A mark-compact's marking (77–115 ms of wall
 * time at 500 WebRTC calls) then delayed pacing timers by 110–170 ms, and callers heard gaps; with GC
 * on the main thread, in steps, the WebRTC sweep carried 600 calls instead of 400 (back to back, same
 * host; docs/benchmarks.md). The load generator keeps the other flags only: it was measured that way.
 */
export const SERVICE_NODE_FLAGS = [...NODE_FLAGS, '--single-threaded-gc'];

/** --semi-space-mb N: a fixed young generation of N MB semi-spaces instead of the shipped size. */
function semiSpaceFlags(mb: string | undefined): string[] {
  return mb ? [`--max-semi-space-size=${Number(mb)}`, `--min-semi-space-size=${Number(mb)}`] : [];
}

export async function startService(
  ctx: BenchContext,
  args: string[],
  env: Record<string, string>,
  nodeFlags: string[] = [],
  /**
   * CPU to pin the service to; null runs it on every CPU. (Not undefined: an explicit undefined takes
   * the default, which pinned the local scenario's service to CPU 0 with all its worker threads.)
   */
  cpu: number | null = 0,
): Promise<{ service: BenchChild; port: number }> {
  const service = BenchChild.spawn({
    name: 'bench service',
    entry: 'bench/service/main.ts',
    args,
    ...(cpu === null ? {} : { cpu }),
    env,
    nodeFlags: [...SERVICE_NODE_FLAGS, ...nodeFlags],
    onStderr: (line) => {
      if (!line.includes('REDIS_URL is not set') && !line.includes('is not set:'))
        ctx.log(`service: ${line}`);
    },
  });
  try {
    // With --trace-gc, V8 prints GC lines on stdout too (also during boot): the port line is the JSON one.
    let line = await service.nextLine(60_000);
    while (!line.startsWith('{')) line = await service.nextLine(60_000);
    const { port } = JSON.parse(line) as { port: number };
    return { service, port };
  } catch (err) {
    await service.close();
    throw err;
  }
}

export async function startGenerator(
  url: string,
  bargeInProbability = 0.3,
  /** CPU to pin the generator to; null runs it on every CPU. */
  cpu: number | null = 1,
  nodeFlags: string[] = [],
): Promise<{ generator: BenchChild; prepared: PrepareResult }> {
  const generator = BenchChild.spawn({
    name: 'load generator',
    entry: 'bench/lib/load.ts',
    ...(cpu === null ? {} : { cpu }),
    nodeFlags: [...NODE_FLAGS, ...nodeFlags],
  });
  try {
    const prepared = await generator.request<PrepareResult>(
      'init',
      { url, sampleRate: 16000, leadMs: 100, bargeInProbability, bargeInAfterMs: 500 },
      60_000,
    );
    return { generator, prepared };
  } catch (err) {
    await generator.close();
    throw err;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One measured window of a step with `n` calls: the report's figures and the SLO verdict. */
function stepFigures(
  n: number,
  client: ClientStats,
  svc: ServiceStats,
  baselineRss: number,
): CapacityStepDetail {
  const calls = client.calls_active;
  const step: CapacityStepDetail = {
    calls: n,
    loop_lag_ms: {
      p50: round(svc.lag_ms.p50, 2),
      p99: round(svc.lag_ms.p99, 2),
      max: round(svc.lag_ms.max, 1),
    },
    jitter_ms: { p99: round(client.jitter_ms.p99, 2) },
    overhead_ms: p(svc.turn_metrics.overhead_ms),
    bargein_ms: p(client.bargein_ms),
    e2e_latency_ms: p(client.e2e_latency_ms),
    cpu_ms_per_call_s: round(svc.cpu_ms / Math.max(1, calls) / (svc.elapsed_ms / 1000), 2),
    rss_mb_per_call: round((svc.memory.rss_mb - baselineRss) / Math.max(1, calls), 2),
    dropped_frames: client.late_frames,
    vad_delay_ms: svc.vad_delay_ms
      ? {
          p50: round(svc.vad_delay_ms.p50, 1),
          p99: round(svc.vad_delay_ms.p99, 1),
          max: round(svc.vad_delay_ms.max, 1),
        }
      : { p50: 0, p99: 0, max: 0 },
    late_frames: client.late_frames,
    frames_received: client.frames_received,
    turns: client.turns_started,
    bargeins: client.bargein_ms.length,
    reply_timeouts: client.reply_timeouts,
    server: {
      e2e_latency_ms: p(svc.turn_metrics.e2e_latency_ms),
      bargein_ms: p(svc.turn_metrics.bargein_ms),
    },
    generator_lag_p99_ms: round(client.generator.lag_p99_ms, 2),
    pacing_late_ms: { p99: round(svc.pacing_late_ms.p99, 1), max: round(svc.pacing_late_ms.max, 1) },
    gc_pause_ms: {
      service_max: svc.gc_pauses.max_ms,
      service_over_10: svc.gc_pauses.over_10ms,
      generator_max: client.generator.gc_pauses.max_ms,
      generator_over_10: client.generator.gc_pauses.over_10ms,
      service_slow_by_kind: svc.gc_pauses.slow_by_kind,
      generator_slow_by_kind: client.generator.gc_pauses.slow_by_kind,
    },
    ...(svc.gc
      ? {
          service_gc: {
            ...svc.gc,
            allocated_mb_per_call_s: round(
              svc.gc.allocated_mb / Math.max(1, calls) / Math.max(0.001, svc.gc.window_s),
              4,
            ),
            ...(svc.alloc_profile ? { alloc_profile: svc.alloc_profile } : {}),
          },
        }
      : {}),
    ...(svc.vad_windows_per_run !== undefined
      ? { vad_windows_per_run: round(svc.vad_windows_per_run, 1) }
      : {}),
    ...(calls !== n ? { calls_open: calls } : {}),
    ...(client.closed_by_service > 0 ? { closed_by_service: client.closed_by_service } : {}),
  };
  step.violations = sloViolations(step);
  if (calls !== n) step.violations.push(`${calls} of ${n} calls open`);
  step.slo_met = step.violations.length === 0;
  return step;
}

function describe(step: CapacityStepDetail): string {
  return (
    `lag p99 ${step.loop_lag_ms.p99} ms, jitter p99 ${step.jitter_ms.p99} ms, ` +
    `overhead p99 ${step.overhead_ms.p99} ms, e2e p50 ${step.e2e_latency_ms.p50} ms, ` +
    `cpu ${step.cpu_ms_per_call_s} ms/call-s, late ${step.dropped_frames}, VAD delay p99 ` +
    `${step.vad_delay_ms.p99} ms, pacing p99 / max ` +
    `${step.pacing_late_ms?.p99} / ${step.pacing_late_ms?.max} ms, generator lag p99 ${step.generator_lag_p99_ms} ms, gc max ` +
    `${step.gc_pause_ms?.service_max}/${step.gc_pause_ms?.generator_max} ms, host stall max ` +
    `${step.host_stall_ms?.max_ms ?? 'n/a'} ms` +
    (step.violations?.length ? ` — SLO broken: ${step.violations.join('; ')}` : '') +
    (step.inconclusive ? ' (inconclusive: the host stalled)' : '')
  );
}

export async function runCapacity(ctx: BenchContext, options: CapacityOptions): Promise<CapacityRunResult> {
  const steps = options.steps ?? (ctx.quick ? QUICK_STEPS : FULL_STEPS);
  const rampMs = options.rampMs ?? 2000;
  // Calls added by a step grow the heap, and V8 runs mark-compact collections while the old generation
  // grows: they belong to the ramp, not to the steady state a step measures. The first step also
  // carries the service's own warm-up (JIT, first major collections).
  const settleMs = options.settleMs ?? (ctx.quick ? 3000 : 6000);
  const firstSettleMs = ctx.quick ? settleMs : Math.max(settleMs, 12_000);
  const measureMs = options.measureMs ?? (ctx.quick ? 6000 : 20_000);
  const maxWindows = options.maxWindows ?? (ctx.quick ? 1 : 3);
  const maxTotal = ctx.quick ? maxWindows : maxWindows + 2;
  const warmup = options.warmup ?? (ctx.quick ? undefined : { calls: 100, ms: 15_000 });
  const label = options.label ?? `capacity ${options.vad}`;
  const notes: string[] = [];
  const extra = options.before ? await options.before() : undefined;
  let service: BenchChild | undefined;
  let generator: BenchChild | undefined;
  const hostStalls = new HostStallProbe();
  try {
    const started = await startService(
      ctx,
      ['--vad', options.vad, ...(options.serviceArgs ?? [])],
      { ...options.serviceEnv, ...extra?.env },
      options.serviceNodeFlags,
    );
    service = started.service;
    if (options.traceGcFile) {
      // V8's --trace-gc lines (with the reason of every mark-compact) go to a file.
      const out = createWriteStream(options.traceGcFile);
      service.child.stdout?.on('data', (chunk: Buffer) => out.write(chunk));
    }
    const url = `ws://127.0.0.1:${started.port}/api/v1/media/stream`;
    const gen = await startGenerator(
      url,
      options.bargeInProbability ?? (ctx.quick ? 0.5 : 0.3),
      1,
      options.generatorNodeFlags,
    );
    generator = gen.generator;
    if (options.generatorTraceGcFile) {
      const out = createWriteStream(options.generatorTraceGcFile);
      generator.child.stdout?.on('data', (chunk: Buffer) => out.write(chunk));
    }
    const pinned = service.pinned && generator.pinned;
    if (!pinned) notes.push('taskset unavailable: service and generator ran unpinned');
    ctx.log(
      `${label}: utterances ${gen.prepared.utterances.map((u) => u.audio_ms).join('/')} ms, VAD speech share ` +
        `silero ${round(gen.prepared.vad_speech_share.silero, 2)} webrtc ${round(gen.prepared.vad_speech_share.webrtc, 2)}`,
    );
    // Baseline memory of the idle service (engines started, no call yet).
    await sleep(1000);
    const idle = await service.request<ServiceStats>('stats', undefined, 10_000);
    const baselineRss = idle.memory.rss_mb;
    if (warmup && warmup.calls > 0) {
      ctx.progress(`${label}: warm-up, ${warmup.calls} calls`, 0);
      await generator.request('calls', { n: warmup.calls, rampMs }, rampMs + 60_000);
      await sleep(warmup.ms);
      await generator.request('hangup', undefined, 30_000);
      await sleep(2000);
    }
    const results: CapacityStepDetail[] = [];
    for (let i = 0; i < steps.length; i++) {
      const n = steps[i];
      ctx.progress(`${label}: ${n} calls`, i / steps.length);
      await service.request('greetings', undefined, 10_000);
      const opened = await generator.request<{ opened: number; failed: number }>(
        'calls',
        { n, rampMs },
        rampMs + 60_000,
      );
      if (opened.failed > 0) notes.push(`${n} calls: ${opened.failed} failed to connect`);
      await sleep(i === 0 ? firstSettleMs : settleMs);
      // The calls this step added started under the previous step's load.
      const greetings = await service.request<number[]>('greetings', undefined, 10_000);
      const windows: CapacityStepDetail[] = [];
      let more: boolean;
      do {
        hostStalls.reset();
        const { client, svc } = await measureWindow(service, generator, measureMs);
        const window = stepFigures(n, client, svc, baselineRss);
        window.host_stall_ms = hostStalls.read();
        if (!window.slo_met && window.host_stall_ms.max_ms >= HOST_STALL_MS) window.inconclusive = true;
        if (greetings.length) window.greeting_ttfb_ms = p(greetings);
        windows.push(window);
        const verdicts = windows.map((w) => ({ slo_met: w.slo_met!, inconclusive: w.inconclusive }));
        more = needsAnotherWindow(verdicts, maxWindows, maxTotal);
        if (windows.length > 1 || more)
          ctx.log(`${label}: ${n} calls, window ${windows.length}: ${describe(window)}`);
      } while (more);
      const step = windows[decidingWindow(windows.map((w) => ({ ...w, slo_met: w.slo_met! })))];
      if (windows.length > 1)
        step.windows = windows.map((w) => ({
          slo_met: w.slo_met!,
          ...(w.inconclusive ? { inconclusive: true } : {}),
          jitter_p99_ms: w.jitter_ms.p99,
          loop_lag_p99_ms: w.loop_lag_ms.p99,
          host_stall_ms: w.host_stall_ms?.max_ms ?? 0,
          ...(w.violations?.length ? { violations: w.violations } : {}),
        }));
      const inconclusive = windows.filter((w) => w.inconclusive).length;
      if (inconclusive)
        notes.push(
          `${n} calls: ${inconclusive} window(s) broke the SLOs during a host stall and were measured again`,
        );
      const calls = step.calls_open ?? n;
      if (calls !== n) notes.push(`${n} calls: only ${calls} were open at the end of the step`);
      if (step.closed_by_service) notes.push(`${n} calls: ${step.closed_by_service} closed by the service`);
      if ((step.generator_lag_p99_ms ?? 0) > 20)
        notes.push(`${n} calls: the load generator lagged (p99 ${step.generator_lag_p99_ms} ms)`);
      results.push(step);
      ctx.log(
        `${label}: ${n} calls${windows.length > 1 ? ` (${windows.filter((w) => w.slo_met).length} of ${windows.length} windows met)` : ''} — ${describe(step)}`,
      );
      if (!step.slo_met) break;
    }
    ctx.progress(`${label}: done`, 1);
    await generator.request('hangup', undefined, 30_000).catch(() => undefined);
    return {
      calls_per_core: callsPerCore(results),
      steps: results,
      pinned,
      vad: options.vad,
      measure_s: measureMs / 1000,
      vad_speech_share: gen.prepared.vad_speech_share,
      ...(notes.length ? { notes } : {}),
    };
  } finally {
    hostStalls.stop();
    await generator?.close();
    await service?.close();
    await extra?.close();
  }
}

export function run(ctx: BenchContext, options: { vad: 'silero' | 'webrtc' }): Promise<CapacityRunResult> {
  return runCapacity(ctx, { vad: options.vad });
}

/** Resets the service's and the generator's counters, waits `ms`, and collects both sides. */
export async function measureWindow(
  service: BenchChild,
  generator: BenchChild,
  ms: number,
): Promise<{ client: ClientStats; svc: ServiceStats }> {
  await Promise.all([
    service.request('reset', undefined, 10_000),
    generator.request('reset', undefined, 10_000),
  ]);
  await sleep(ms);
  const [client, svc] = await Promise.all([
    generator.request<ClientStats>('collect', undefined, 10_000),
    service.request<ServiceStats>('stats', undefined, 10_000),
  ]);
  return { client, svc };
}

/** Runs a scenario on its own: flags from argv, JSON result on stdout, a failure on stderr. */
export function standalone(
  name: string,
  run: (ctx: BenchContext, flags: Record<string, string>) => Promise<unknown>,
): void {
  const flags = parseFlags(process.argv.slice(2));
  run(standaloneContext(flags.quick === 'true'), flags).then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (err: unknown) => {
      process.stderr.write(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

/** A BenchContext for running a scenario on its own (progress and logs on stderr). */
export function standaloneContext(quick: boolean): BenchContext {
  return {
    quick,
    progress: () => undefined,
    log: (message) => process.stderr.write(`${message}\n`),
  };
}

// npx ts-node-less: node -r @swc-node/register bench/scenarios/capacity.ts [--quick] [--vad webrtc] [--steps 25,50] [--measure-s 20] [--silero-thread main] [--onset-lookback-ms 0] [--cpu-prof DIR] [--semi-space-mb 64] [--alloc-profile DIR] [--trace-gc FILE] [--generator-trace-gc FILE] [--generator-cpu-prof DIR] [--service-v8 flag,flag=value] [--generator-v8 flag]
if (require.main === module) {
  standalone('capacity', (ctx, flags) => {
    const steps = flags.steps?.split(',').map(Number);
    return runCapacity(ctx, {
      vad: flags.vad === 'webrtc' ? 'webrtc' : 'silero',
      ...(steps ? { steps } : {}),
      ...(flags['measure-s'] ? { measureMs: Number(flags['measure-s']) * 1000 } : {}),
      serviceEnv: {
        // --silero-thread main: the service runs Silero's batches on its event loop (VAD_SILERO_THREAD).
        ...(flags['silero-thread'] ? { VAD_SILERO_THREAD: flags['silero-thread'] } : {}),
        // --onset-lookback-ms 0: Silero's onsets are not moved back (VAD_SILERO_ONSET_LOOKBACK_MS).
        ...(flags['onset-lookback-ms'] ? { VAD_SILERO_ONSET_LOOKBACK_MS: flags['onset-lookback-ms'] } : {}),
      },
      // --alloc-profile DIR: the service writes a sampling allocation profile of each measured window.
      ...(flags['alloc-profile'] ? { serviceArgs: ['--alloc-profile', flags['alloc-profile']] } : {}),
      // --trace-gc FILE: the service's V8 GC trace (why each collection ran) written to FILE.
      ...(flags['trace-gc'] ? { traceGcFile: flags['trace-gc'] } : {}),
      serviceNodeFlags: [
        ...(flags['trace-gc'] ? ['--trace-gc'] : []),
        ...(flags['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', flags['cpu-prof']] : []),
        ...semiSpaceFlags(flags['semi-space-mb']),
        // --service-v8 a,b=1: more V8 / Node flags for the service (written without their leading --).
        ...(flags['service-v8'] ? flags['service-v8'].split(',').map((f) => `--${f}`) : []),
      ],
      // The same for the load generator: --generator-trace-gc FILE, --generator-cpu-prof DIR.
      ...(flags['generator-trace-gc'] ? { generatorTraceGcFile: flags['generator-trace-gc'] } : {}),
      generatorNodeFlags: [
        ...(flags['generator-trace-gc'] ? ['--trace-gc'] : []),
        // --semi-space-mb applies to both processes; --generator-v8 like --service-v8.
        ...semiSpaceFlags(flags['semi-space-mb']),
        ...(flags['generator-v8'] ? flags['generator-v8'].split(',').map((f) => `--${f}`) : []),
        ...(flags['generator-cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', flags['generator-cpu-prof']] : []),
      ],
    });
  });
}
