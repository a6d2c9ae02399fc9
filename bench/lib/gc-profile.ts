import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { GCProfiler } from 'node:v8';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { round } from './stats';

type GcProfileResult = NonNullable<ReturnType<GCProfiler['stop']>>;
type GcHeapStats = GcProfileResult['statistics'][number]['beforeGC'];

/** GC activity of one measurement window, from V8's GCProfiler (per-GC heap before/after). */
export interface GcSummary {
  window_s: number;
  /** Per GC type (Scavenge, MarkSweepCompact…): how many, total and longest cost (ms). */
  by_type: Record<string, { count: number; total_ms: number; max_ms: number }>;
  /** JS heap bytes allocated in the window (growth between collections), MB. */
  allocated_mb: number;
  /** Bytes scavenges moved to the old generation, MB. */
  promoted_mb: number;
  /** Old generation growth between collections (pretenured allocations, large objects), MB. */
  old_allocated_mb: number;
  /** ArrayBuffer / Buffer memory V8 saw grow between collections (backing stores allocated), MB. */
  external_allocated_mb: number;
}

const MB = 1024 * 1024;
const oldUsed = (s: GcHeapStats) =>
  s.heapSpaceStatistics
    .filter((x) => x.spaceName === 'old_space' || x.spaceName === 'large_object_space')
    .reduce((a, x) => a + x.spaceUsedSize, 0);

/** Allocation and promotion per window for the bench service (bench only: GCProfiler has overhead). */
export class GcProfile {
  private profiler: GCProfiler | undefined;
  private startedAt = 0;
  private startUsed = 0;
  private startExternal = 0;
  private startOld = 0;

  start(): void {
    this.profiler?.stop();
    this.profiler = new GCProfiler();
    const h = getHeapStatistics();
    this.startUsed = h.used_heap_size;
    this.startExternal = h.external_memory;
    this.startOld = getHeapSpaceStatistics()
      .filter((x) => x.space_name === 'old_space' || x.space_name === 'large_object_space')
      .reduce((a, x) => a + x.space_used_size, 0);
    this.startedAt = performance.now();
    this.profiler.start();
  }

  /** Summary since start() (and restarts); undefined before the first start(). */
  snapshot(): GcSummary | undefined {
    const result = this.profiler?.stop();
    this.profiler = undefined;
    if (!result) return undefined;
    const windowS = (performance.now() - this.startedAt) / 1000;
    const by: GcSummary['by_type'] = {};
    let used = this.startUsed;
    let external = this.startExternal;
    let allocated = 0;
    let externalAllocated = 0;
    let promoted = 0;
    let old = this.startOld;
    let oldAllocated = 0;
    for (const s of result.statistics) {
      const t = (by[s.gcType] ??= { count: 0, total_ms: 0, max_ms: 0 });
      const ms = s.cost / 1000;
      t.count++;
      t.total_ms += ms;
      t.max_ms = Math.max(t.max_ms, ms);
      allocated += Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - used);
      used = s.afterGC.heapStatistics.usedHeapSize;
      externalAllocated += Math.max(0, s.beforeGC.heapStatistics.externalMemory - external);
      external = s.afterGC.heapStatistics.externalMemory;
      oldAllocated += Math.max(0, oldUsed(s.beforeGC) - old);
      old = oldUsed(s.afterGC);
      if (s.gcType === 'Scavenge') promoted += Math.max(0, oldUsed(s.afterGC) - oldUsed(s.beforeGC));
    }
    const h = getHeapStatistics();
    allocated += Math.max(0, h.used_heap_size - used);
    externalAllocated += Math.max(0, h.external_memory - external);
    for (const t of Object.values(by)) {
      t.total_ms = round(t.total_ms, 1);
      t.max_ms = round(t.max_ms, 1);
    }
    return {
      window_s: round(windowS, 1),
      by_type: by,
      allocated_mb: round(allocated / MB, 1),
      promoted_mb: round(promoted / MB, 1),
      old_allocated_mb: round(oldAllocated / MB, 1),
      external_allocated_mb: round(externalAllocated / MB, 1),
    };
  }
}

/**
 * Sampling allocation profile of a window, including objects already collected (so it shows what is
 * allocated, not what is retained): `.heapprofile` JSON for DevTools or a summary script.
 */
export class AllocationProfile {
  private readonly session = new Session();
  private running = false;
  private seq = 0;

  constructor(
    private readonly dir: string,
    private readonly intervalBytes = 16 * 1024,
  ) {
    this.session.connect();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.session.post('HeapProfiler.startSampling', {
      samplingInterval: this.intervalBytes,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    } as object);
  }

  /** Stops sampling and writes the profile; resolves with its path. */
  stop(): Promise<string | undefined> {
    if (!this.running) return Promise.resolve(undefined);
    this.running = false;
    return new Promise((resolve, reject) =>
      this.session.post('HeapProfiler.stopSampling', (err, result) => {
        if (err) return reject(err);
        const file = `${this.dir}/window-${++this.seq}-${process.pid}.heapprofile`;
        writeFileSync(file, JSON.stringify(result.profile));
        resolve(file);
      }),
    );
  }
}
