import { FakeClock } from '../../../src/media/pipeline/clock';
import { PacerTimer, SharedPacer } from '../../../src/media/pipeline/pacer';
import { Playout } from '../../../src/media/pipeline/playout';

/** Counts the clock timers a FakeClock hands out. */
function countingClock(start = 1000) {
  const clock = new FakeClock(start);
  let timers = 0;
  const setTimeout = clock.setTimeout.bind(clock);
  clock.setTimeout = (fn, ms) => {
    timers++;
    return setTimeout(fn, ms);
  };
  return { clock, timers: () => timers };
}

describe('SharedPacer', () => {
  it('fires every timer at its deadline, never before, in deadline order', () => {
    const clock = new FakeClock(1000);
    const pacer = new SharedPacer(clock);
    const fired: Array<[string, number]> = [];
    const timer = (name: string) => new PacerTimer(() => fired.push([name, clock.now()]));
    pacer.arm(timer('c'), 1030.5);
    pacer.arm(timer('a'), 1010);
    pacer.arm(timer('b'), 1010.2);
    pacer.arm(timer('d'), 1030.5);

    clock.advance(10);
    expect(fired).toEqual([['a', 1010]]);
    clock.advance(100);
    expect(fired).toEqual([
      ['a', 1010],
      ['b', 1011],
      ['c', 1031],
      ['d', 1031],
    ]);
    expect(pacer.armed).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('runs a thousand owners every 20 ms on one clock timer per occupied millisecond', () => {
    const { clock, timers } = countingClock();
    const pacer = new SharedPacer(clock);
    let fires = 0;
    let early = 0;
    for (let i = 0; i < 1000; i++) {
      // Phases spread over the 20 ms: 50 owners per millisecond.
      let due = 1000 + (i % 20) + 1;
      const t: PacerTimer = new PacerTimer(() => {
        fires++;
        if (clock.now() < due) early++;
        due += 20;
        pacer.arm(t, due);
      });
      pacer.arm(t, due);
    }
    clock.advance(1000);
    expect(fires).toBe(50_000);
    expect(early).toBe(0);
    // 1000 clock timers (one per millisecond) instead of 50 000 (one per frame per owner).
    expect(timers()).toBeLessThanOrEqual(1001);
  });

  it('moves a re-armed timer and forgets a disarmed one; the clock timer goes when nothing is armed', () => {
    const clock = new FakeClock(0);
    const pacer = new SharedPacer(clock);
    const fired: number[] = [];
    const t = new PacerTimer(() => fired.push(clock.now()));
    pacer.arm(t, 50);
    pacer.arm(t, 20);
    clock.advance(30);
    pacer.arm(t, 70);
    pacer.disarm(t);
    expect(clock.pendingTimers).toBe(0);
    clock.advance(100);
    expect(fired).toEqual([20]);
  });

  it('fires deadlines beyond one turn of the wheel at their time, not a turn early', () => {
    const clock = new FakeClock(0);
    const pacer = new SharedPacer(clock);
    const fired: number[] = [];
    pacer.arm(new PacerTimer(() => fired.push(clock.now())), 1300);
    pacer.arm(new PacerTimer(() => fired.push(clock.now())), 276);
    clock.advance(2000);
    expect(fired).toEqual([276, 1300]);
  });

  it('after a stall of the event loop runs every overdue timer in one pass, in deadline order', () => {
    // A clock whose timers fire only when told, at whatever time it is then (a loop blocked by a GC).
    let now = 0;
    const pending: Array<() => void> = [];
    const pacer = new SharedPacer({
      now: () => now,
      setTimeout: (fn) => pending.push(fn),
      clearTimeout: () => undefined,
    });
    const fired: string[] = [];
    pacer.arm(new PacerTimer(() => fired.push('late 5')), 5);
    pacer.arm(new PacerTimer(() => fired.push('late 3')), 3);
    pacer.arm(
      new PacerTimer(() => {
        fired.push('late 4');
        // Armed during the pass for a time already due: runs in the same pass.
        pacer.arm(new PacerTimer(() => fired.push(`re-armed @${now}`)), 4);
      }),
      4,
    );

    now = 60;
    pending.splice(0).at(-1)!();

    expect(fired).toEqual(['late 3', 'late 4', 'late 5', 're-armed @60']);
    expect(pacer.armed).toBe(0);
  });

  it('a timer that throws does not stop the others; the error is reported after the pass', () => {
    const clock = new FakeClock(0);
    const errors: unknown[] = [];
    const pacer = new SharedPacer(clock, (err) => errors.push(err));
    const fired: string[] = [];
    pacer.arm(
      new PacerTimer(() => {
        throw new Error('owner bug');
      }),
      10,
    );
    pacer.arm(new PacerTimer(() => fired.push('other')), 10);
    clock.advance(20);
    expect(fired).toEqual(['other']);
    expect(errors).toEqual([new Error('owner bug')]);
  });

  it('close() disarms everything and leaves no clock timer', () => {
    const clock = new FakeClock(0);
    const pacer = new SharedPacer(clock);
    const fired: number[] = [];
    const t = new PacerTimer(() => fired.push(1));
    pacer.arm(t, 10);
    pacer.close();
    expect(t.armed).toBe(false);
    expect(clock.pendingTimers).toBe(0);
    clock.advance(100);
    expect(fired).toEqual([]);
  });

  it('paces a playout exactly as its own timers do: same frames at the same times', () => {
    const run = (shared: boolean) => {
      const clock = new FakeClock(1000);
      const sent: number[] = [];
      const playout = new Playout({
        clock,
        frameBytes: 640,
        leadMs: 100,
        send: () => sent.push(clock.now()),
        ...(shared ? { pacer: new SharedPacer(clock) } : {}),
      });
      playout.enqueue(Buffer.alloc(640 * 30), { generation: 1, chunkIndex: 0 });
      clock.advance(250);
      playout.pause();
      clock.advance(75);
      playout.resume();
      playout.enqueue(Buffer.alloc(640 * 7 + 320), { generation: 2, chunkIndex: 0 });
      playout.finish(2);
      clock.advance(2000);
      expect(clock.pendingTimers).toBe(0);
      return sent;
    };
    const own = run(false);
    expect(own.length).toBeGreaterThan(38);
    expect(run(true)).toEqual(own);
  });
});
