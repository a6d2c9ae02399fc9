import type { Clock, TimerHandle } from './clock';

/**
 * One owner's pacing timer: armed for one deadline at a time and reused for every frame, so pacing
 * allocates nothing per frame. The fields are the pacer's.
 */
export class PacerTimer {
  /** @internal Deadline (clock ms) while armed. */
  at = 0;
  /** @internal SharedPacer: wheel slot while armed, -1 when not. */
  slot = -1;
  /** @internal SharedPacer: neighbours in the slot's list. */
  next: PacerTimer | undefined = undefined;
  prev: PacerTimer | undefined = undefined;
  /** @internal ClockPacer: the clock's timer while armed. */
  handle: TimerHandle = undefined;
  armed = false;

  constructor(readonly fire: () => void) {}
}

/** Deadline timers for the playouts of every call (see SharedPacer). */
export interface Pacer {
  now(): number;
  /** Fires `timer` once, at `at` or as soon after as the event loop allows; re-arming moves it. */
  arm(timer: PacerTimer, at: number): void;
  disarm(timer: PacerTimer): void;
}

/** A timer of the clock per arm: for tests on a FakeClock and for a playout on its own. */
export class ClockPacer implements Pacer {
  constructor(private readonly clock: Clock) {}

  now(): number {
    return this.clock.now();
  }

  arm(timer: PacerTimer, at: number): void {
    this.disarm(timer);
    timer.at = at;
    timer.armed = true;
    // At least 1 ms: Node may fire a timer slightly before performance.now() reaches its deadline.
    timer.handle = this.clock.setTimeout(
      () => {
        timer.armed = false;
        timer.fire();
      },
      Math.max(1, Math.ceil(at - this.clock.now() - EPSILON)),
    );
  }

  disarm(timer: PacerTimer): void {
    if (!timer.armed) return;
    timer.armed = false;
    this.clock.clearTimeout(timer.handle);
  }
}

const EPSILON = 1e-6;
/** Wheel of 1 ms slots; deadlines further ahead wait in their slot for a later turn of the wheel. */
const SLOTS = 512;

/**
 * One clock timer for the pacing of every call in the process. Each playout sends a frame every 20 ms
 * on its own phase: with a timer per call per frame that was 25 000 timer objects a second at 500 calls.
 * Here deadlines go into a wheel of 1 ms slots (an intrusive list per slot, nothing allocated per arm)
 * and a single clock timer fires at the earliest occupied slot, running every timer due by then in
 * deadline order (arm order within a millisecond). A timer never fires before its deadline.
 */
export class SharedPacer implements Pacer {
  private readonly heads: Array<PacerTimer | undefined> = new Array<PacerTimer | undefined>(SLOTS).fill(
    undefined,
  );
  private readonly tails: Array<PacerTimer | undefined> = new Array<PacerTimer | undefined>(SLOTS).fill(
    undefined,
  );
  /** Milliseconds (floor of the clock) whose slots have been run. */
  private cursor: number;
  private armedCount = 0;
  private clockTimer: TimerHandle = undefined;
  /** When the clock timer fires (slot ms), NaN when none is set. */
  private clockTimerAt = Number.NaN;
  private running = false;
  /** Clock timers set (for the benchmark's and tests' counters). */
  clockTimers = 0;

  constructor(
    private readonly clock: Clock,
    /** A timer's callback threw (after the pass: the other timers ran). Default: rethrow. */
    private readonly onError: (err: unknown) => void = (err) => {
      throw err;
    },
  ) {
    this.cursor = Math.floor(clock.now());
  }

  now(): number {
    return this.clock.now();
  }

  /** Timers armed now. */
  get armed(): number {
    return this.armedCount;
  }

  arm(timer: PacerTimer, at: number): void {
    if (timer.armed) this.unlink(timer);
    if (this.armedCount === 0 && !this.running) this.cursor = Math.floor(this.clock.now());
    // The first slot not yet run that is at or after the deadline.
    const ms = Math.max(Math.ceil(at - EPSILON), this.cursor + 1);
    timer.at = at;
    timer.armed = true;
    timer.slot = ms % SLOTS;
    timer.next = undefined;
    timer.prev = this.tails[timer.slot];
    if (timer.prev) timer.prev.next = timer;
    else this.heads[timer.slot] = timer;
    this.tails[timer.slot] = timer;
    this.armedCount++;
    if (!this.running) this.setClockTimer(ms);
  }

  disarm(timer: PacerTimer): void {
    if (!timer.armed) return;
    this.unlink(timer);
    if (this.armedCount === 0 && !this.running) this.cancelClockTimer();
  }

  /** Stops the clock timer and forgets every armed timer (shutdown). */
  close(): void {
    for (let s = 0; s < SLOTS; s++) {
      for (let t = this.heads[s]; t; t = t.next) t.armed = false;
      this.heads[s] = undefined;
      this.tails[s] = undefined;
    }
    this.armedCount = 0;
    this.cancelClockTimer();
  }

  private unlink(timer: PacerTimer): void {
    const slot = timer.slot;
    if (timer.prev) timer.prev.next = timer.next;
    else this.heads[slot] = timer.next;
    if (timer.next) timer.next.prev = timer.prev;
    else this.tails[slot] = timer.prev;
    timer.next = undefined;
    timer.prev = undefined;
    timer.slot = -1;
    timer.armed = false;
    this.armedCount--;
  }

  private setClockTimer(ms: number): void {
    if (!Number.isNaN(this.clockTimerAt) && this.clockTimerAt <= ms) return;
    this.cancelClockTimer();
    this.clockTimerAt = ms;
    this.clockTimers++;
    this.clockTimer = this.clock.setTimeout(
      this.onClockTimer,
      Math.max(1, Math.ceil(ms - this.clock.now() - EPSILON)),
    );
  }

  private cancelClockTimer(): void {
    if (Number.isNaN(this.clockTimerAt)) return;
    this.clock.clearTimeout(this.clockTimer);
    this.clockTimerAt = Number.NaN;
  }

  private readonly onClockTimer = (): void => {
    this.clockTimerAt = Number.NaN;
    this.running = true;
    const failures: unknown[] = [];
    try {
      const now = this.clock.now();
      const upTo = Math.floor(now + EPSILON);
      // Slots run one by one up to now; timers armed meanwhile for a time already due land in the
      // next slot and run in this same pass.
      while (this.cursor < upTo && this.armedCount > 0) {
        this.cursor++;
        this.runSlot(this.cursor % SLOTS, now, failures);
      }
      this.cursor = upTo;
    } finally {
      this.running = false;
    }
    const next = this.nextOccupied();
    if (next !== undefined) this.setClockTimer(next);
    for (const err of failures) this.onError(err);
  };

  private runSlot(slot: number, now: number, failures: unknown[]): void {
    // Callbacks may arm or disarm any timer, so the scan starts again at the head after each one. Timers
    // left in a slot are those due on a later turn of the wheel (over 512 ms ahead): rare.
    let timer = this.heads[slot];
    while (timer) {
      if (timer.at > now + EPSILON) {
        timer = timer.next;
        continue;
      }
      this.unlink(timer);
      try {
        timer.fire();
      } catch (err) {
        // One owner's failure must not stop the pacing of the other calls.
        failures.push(err);
      }
      timer = this.heads[slot];
    }
  }

  /** The millisecond of the first occupied slot after the cursor (a full turn at most). */
  private nextOccupied(): number | undefined {
    if (this.armedCount === 0) return undefined;
    for (let ms = this.cursor + 1; ms <= this.cursor + SLOTS; ms++) {
      if (this.heads[ms % SLOTS]) return ms;
    }
    return undefined;
  }
}
