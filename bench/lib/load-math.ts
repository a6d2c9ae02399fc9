/**
 * Pure parts of the load generator: the outbound frame jitter / late-frame tracker of one simulated call
 * and the capacity SLOs (the fixed-bin histogram is the service's own, re-exported).
 */

export { Histogram } from '../../src/common/histogram';
import type { Histogram } from '../../src/common/histogram';

export interface JitterOptions {
  /** Bytes → ms is the caller's business; frames are FRAME_MS long. */
  frameMs?: number;
  /** How far ahead of real time the service sends (PLAYOUT_LEAD_MS). */
  leadMs: number;
  /**
   * A frame arriving after the caller's playback buffer ran dry, less than this long after it did, is an
   * underrun inside a reply (late frame); a longer gap starts a new reply (not late).
   */
  replyGapMs?: number;
}

/**
 * Outbound frame timing as one caller sees it — how it is measured:
 *
 * The service paces agent audio on an ideal timeline: a playback run starts when the first frame is
 * sent, frame k of the run plays at start + 20k ms and is sent `leadMs` ahead of that, i.e. at
 * start + max(0, 20k − lead) (src/media/pipeline/playout.ts). The caller anchors the same schedule on
 * the arrival time t0 of the first frame of each burst (a burst starts at the first frame of a reply,
 * after a StopAudio, or after an underrun) and, for every later frame k of the burst, records
 * |arrival − (t0 + max(0, 20k − lead))| as that frame's jitter. The first frame of each burst has no
 * sample (it defines the anchor). So jitter is timer lateness in the service plus delivery variation.
 *
 * A frame is late when it arrives after the caller's modelled playback buffer (everything received
 * plays back to back at real time from its arrival, as ACS plays it) has run dry, within `replyGapMs`
 * of running dry: the caller heard a gap in the middle of a reply. The schedule is re-anchored there,
 * as the service itself starts a new run after an underrun.
 */
export class OutboundJitter {
  readonly frameMs: number;
  readonly leadMs: number;
  readonly replyGapMs: number;
  lateFrames = 0;
  /** Sum of the audible gaps (ms) caused by late frames. */
  lateGapMs = 0;
  frames = 0;
  bursts = 0;
  private inBurst = false;
  private t0 = 0;
  private k = 0;
  private playEnd = 0;

  constructor(
    private readonly histogram: Histogram,
    options: JitterOptions,
  ) {
    this.frameMs = options.frameMs ?? 20;
    this.leadMs = options.leadMs;
    this.replyGapMs = options.replyGapMs ?? 200;
  }

  /** One agent AudioData arrived at `now` carrying `durationMs` of audio. */
  onFrame(now: number, durationMs = this.frameMs): void {
    this.frames++;
    if (!this.inBurst) {
      this.startBurst(now, durationMs);
      return;
    }
    if (now > this.playEnd) {
      const gap = now - this.playEnd;
      if (gap < this.replyGapMs) {
        this.lateFrames++;
        this.lateGapMs += gap;
      }
      this.startBurst(now, durationMs);
      return;
    }
    this.k++;
    const ideal = this.t0 + Math.max(0, this.k * this.frameMs - this.leadMs);
    this.histogram.record(Math.abs(now - ideal));
    this.playEnd += durationMs;
  }

  /** StopAudio: the queued audio is dropped; the next frame starts a new burst. */
  onStop(): void {
    this.inBurst = false;
  }

  /** When the modelled playback buffer runs dry (−Infinity before any audio). */
  get playbackEnd(): number {
    return this.inBurst ? this.playEnd : -Infinity;
  }

  private startBurst(now: number, durationMs: number): void {
    this.inBurst = true;
    this.bursts++;
    this.t0 = now;
    this.k = 0;
    this.playEnd = now + durationMs;
  }
}

export const SLO = {
  loopLagP99Ms: 20,
  jitterP99Ms: 10,
  overheadP99Ms: 10,
  droppedFrames: 0,
  /**
   * Ours, beyond the four: the VAD keeps up. Its delay counts as end-of-utterance time, not as
   * overhead, so without this a step passed while Silero ran seconds behind the callers (barge-in p99
   * 1.2–1.8 s at 400 calls) once inference had left the event loop.
   */
  vadDelayP99Ms: 20,
} as const;

export interface SloInput {
  loop_lag_ms: { p99: number };
  jitter_ms: { p99: number };
  overhead_ms: { p99: number };
  dropped_frames: number;
  vad_delay_ms: { p99: number };
}

/**
 * Which SLOs a capacity step breaks (empty: all met). A figure that could not be measured (NaN) breaks
 * its SLO: a step that measured nothing must not pass.
 */
export function sloViolations(step: SloInput): string[] {
  const out: string[] = [];
  const check = (name: string, value: number, limit: number) => {
    if (!(value < limit)) out.push(`${name} ${Number.isFinite(value) ? value.toFixed(1) : 'n/a'} ≥ ${limit}`);
  };
  check('loop lag p99 ms', step.loop_lag_ms.p99, SLO.loopLagP99Ms);
  check('jitter p99 ms', step.jitter_ms.p99, SLO.jitterP99Ms);
  check('overhead p99 ms', step.overhead_ms.p99, SLO.overheadP99Ms);
  if (!(step.dropped_frames <= SLO.droppedFrames)) out.push(`dropped frames ${step.dropped_frames} > 0`);
  check('VAD delay p99 ms', step.vad_delay_ms.p99, SLO.vadDelayP99Ms);
  return out;
}

/**
 * A measured window's verdict. `inconclusive`: it broke the SLOs while the host stalled (the runner's
 * idle timer was late by HOST_STALL_MS or more, bench/lib/host-stall.ts), so it says nothing about the
 * service. A window that met the SLOs despite a stall still counts.
 */
export interface WindowVerdict {
  slo_met: boolean;
  inconclusive?: boolean;
}

/** Indices of the windows that count: the conclusive ones, or all when none is. */
function countedWindows(windows: readonly WindowVerdict[]): number[] {
  const conclusive = windows.flatMap((w, i) => (w.inconclusive ? [] : [i]));
  return conclusive.length ? conclusive : windows.map((_, i) => i);
}

/**
 * A capacity step is measured in windows until a majority of `max` conclusive windows agree (two of
 * three): one burst of host noise (the VM descheduled, a neighbour's load) then no longer decides a
 * step alone. Inconclusive windows are measured again, up to `maxTotal` windows in all. True while
 * another window is needed.
 */
export function needsAnotherWindow(windows: readonly WindowVerdict[], max = 3, maxTotal = max + 2): boolean {
  const counted = windows.filter((w) => !w.inconclusive);
  const majority = Math.floor(max / 2) + 1;
  const yes = counted.filter((w) => w.slo_met).length;
  const decided = yes >= majority || counted.length - yes >= majority || counted.length >= max;
  return !decided && windows.length < Math.max(max, maxTotal);
}

/**
 * The window whose figures stand for the step, so that figures and verdict agree: the majority's
 * verdict among the windows that count (a tie is a break), shown by its least favourable window when
 * it met the SLOs (the highest jitter p99 of those that met) and by its most favourable one when it
 * broke them (the lowest jitter p99 of those that broke).
 */
export function decidingWindow(
  windows: ReadonlyArray<WindowVerdict & { jitter_ms: { p99: number } }>,
): number {
  const counted = countedWindows(windows);
  const yes = counted.filter((i) => windows[i].slo_met).length;
  const met = yes * 2 > counted.length;
  let pick = -1;
  for (const i of counted) {
    const w = windows[i];
    if (w.slo_met !== met) continue;
    const better =
      pick < 0 ||
      (met ? w.jitter_ms.p99 > windows[pick].jitter_ms.p99 : w.jitter_ms.p99 < windows[pick].jitter_ms.p99);
    if (better) pick = i;
  }
  return pick;
}

/**
 * A caller waiting for the agent (the greeting, or the reply to what it said): `heard` once a reply
 * has played and the line has been quiet long enough, `timeout` when no reply began before the
 * deadline, else `wait`. The deadline bounds the wait for a reply to begin, not its length: a greeting
 * longer than the deadline was answered.
 */
export function replyWait(options: {
  now: number;
  deadline: number;
  replyStarted: boolean;
  quiet: boolean;
}): 'wait' | 'heard' | 'timeout' {
  if (options.replyStarted) return options.quiet ? 'heard' : 'wait';
  return options.now > options.deadline ? 'timeout' : 'wait';
}

/** Highest N among the steps that met the SLOs (0 if none). */
export function callsPerCore(steps: ReadonlyArray<{ calls: number; slo_met?: boolean }>): number {
  return steps.reduce((best, s) => (s.slo_met && s.calls > best ? s.calls : best), 0);
}

/** Deterministic PRNG (mulberry32) so two runs make the same choices. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
