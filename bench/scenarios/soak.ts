import { round } from '../lib/stats';
import type { BenchChild } from '../lib/ipc';
import type { BenchContext, SoakResult } from '../lib/types';
import { standalone, startGenerator, startService } from './capacity';

/**
 * soak: many short calls (each barges into the greeting after 500 ms, says one more thing, hears the
 * reply and hangs up: ~7 s) in waves against the bench service (fake providers, real VAD, pinned like
 * capacity). After a warm-up wave the service's RSS, heap and active handles are taken after forced GCs
 * (the service runs with --expose-gc) as the baseline; after the last wave, again. Leaks: pool leases
 * still in use, media sockets still open, and handles (timers, sockets…) above the baseline.
 */

interface GcStats {
  memory: {
    rss_mb: number;
    heap_used_mb: number;
    heap_total_mb: number;
    external_mb: number;
    malloced_mb: number;
    rss_anon_mb?: number;
    rss_file_mb?: number;
  };
  handles: { total: number; byType: Record<string, number> };
  media_sockets: number;
  pools: Array<{ inUse: number }>;
}

export interface SoakRunResult extends SoakResult {
  /** Within 5 % of the post-warm-up baseline (RSS, heap, handles) and no leaks. */
  passed?: boolean;
  failed_calls?: number;
  pinned?: boolean;
  notes?: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function run(
  ctx: BenchContext,
  options: { calls?: number; wave?: number; turns?: number } = {},
): Promise<SoakRunResult> {
  const total = options.calls ?? (ctx.quick ? 40 : 1000);
  const waveSize = options.wave ?? (ctx.quick ? 20 : 50);
  const turns = options.turns ?? 1;
  const notes: string[] = [];
  let service: BenchChild | undefined;
  let generator: BenchChild | undefined;
  try {
    const started = await startService(ctx, ['--vad', 'webrtc'], {}, ['--expose-gc']);
    service = started.service;
    const gen = await startGenerator(`ws://127.0.0.1:${started.port}/api/v1/media/stream`, 1);
    generator = gen.generator;
    const svc = service;
    const g = generator;
    const runWave = async (n: number) => {
      const r = await g.request<{ completed: number; failed: number; timed_out: number }>(
        'wave',
        { n, turns, rampMs: 1000, timeoutMs: 60_000 },
        90_000,
      );
      return r.failed + r.timed_out;
    };
    // Sessions close a moment after the socket: let the service settle before measuring.
    const measure = async () => {
      await sleep(1500);
      return svc.request<GcStats>('gc', undefined, 20_000);
    };
    ctx.progress('soak: warm-up', 0);
    let failed = await runWave(waveSize);
    const before = await measure();
    const sample = (calls: number, m: GcStats) => ({
      calls,
      rss_mb: round(m.memory.rss_mb, 1),
      heap_mb: round(m.memory.heap_used_mb, 1),
      heap_total_mb: round(m.memory.heap_total_mb, 1),
      external_mb: round(m.memory.external_mb, 1),
      malloced_mb: round(m.memory.malloced_mb, 1),
      ...(m.memory.rss_anon_mb === undefined ? {} : { rss_anon_mb: round(m.memory.rss_anon_mb, 1) }),
      ...(m.memory.rss_file_mb === undefined ? {} : { rss_file_mb: round(m.memory.rss_file_mb, 1) }),
    });
    const series = [sample(0, before)];
    let done = 0;
    while (done < total) {
      const n = Math.min(waveSize, total - done);
      failed += await runWave(n);
      done += n;
      ctx.progress(`soak: ${done}/${total} calls`, done / total);
      if (done === total || done % (waveSize * 4) === 0) {
        series.push(sample(done, await measure()));
      }
    }
    const after = await measure();
    const diff = (type: string) => (after.handles.byType[type] ?? 0) - (before.handles.byType[type] ?? 0);
    const leaks = {
      pool_leases: after.pools.reduce((s, p) => s + p.inUse, 0),
      media_sockets: after.media_sockets,
      timers: Math.max(0, diff('Timeout')),
      sockets: Math.max(0, diff('TCPSocketWrap')),
      handles: Math.max(0, after.handles.total - before.handles.total),
    };
    const within = (a: number, b: number) => a <= b * 1.05;
    const passed =
      within(after.memory.rss_mb, before.memory.rss_mb) &&
      within(after.memory.heap_used_mb, before.memory.heap_used_mb) &&
      within(after.handles.total, before.handles.total) &&
      Object.values(leaks).every((v) => v === 0);
    if (failed > 0) notes.push(`${failed} calls failed or timed out`);
    notes.push('worker threads are not visible in process.getActiveResourcesInfo(); not counted');
    ctx.log(
      `soak: ${total} calls — RSS ${round(before.memory.rss_mb)} → ${round(after.memory.rss_mb)} MB, heap ` +
        `${round(before.memory.heap_used_mb)} → ${round(after.memory.heap_used_mb)} MB, handles ` +
        `${before.handles.total} → ${after.handles.total}, leaks ${JSON.stringify(leaks)}`,
    );
    return {
      calls: total,
      rss_mb: { before: round(before.memory.rss_mb, 1), after: round(after.memory.rss_mb, 1) },
      heap_mb: { before: round(before.memory.heap_used_mb, 1), after: round(after.memory.heap_used_mb, 1) },
      handles: { before: before.handles.total, after: after.handles.total },
      leaks,
      series,
      passed,
      failed_calls: failed,
      pinned: service.pinned && generator.pinned,
      notes,
    };
  } finally {
    await generator?.close();
    await service?.close();
  }
}

// node -r @swc-node/register bench/scenarios/soak.ts [--quick] [--calls 1000 --wave 50]
if (require.main === module) {
  standalone('soak', (ctx, flags) =>
    run(ctx, {
      ...(flags.calls ? { calls: Number(flags.calls) } : {}),
      ...(flags.wave ? { wave: Number(flags.wave) } : {}),
    }),
  );
}
