import { FakeClock } from '../../../src/media/pipeline/clock';
import { Playout, type PlayoutOptions } from '../../../src/media/pipeline/playout';

const FB = 640; // 20 ms at 16 kHz
const LEAD = 100;

/** `frames` frames of PCM whose every byte is the frame's label (first, first + 1, …). */
function labelled(frames: number, first = 0): Buffer {
  const buf = Buffer.alloc(frames * FB);
  for (let k = 0; k < frames; k++) buf.fill((first + k) & 0xff, k * FB, (k + 1) * FB);
  return buf;
}

function setup(extra: Partial<PlayoutOptions> = {}) {
  const clock = new FakeClock(1000);
  const sent: Buffer[] = [];
  const events: string[] = [];
  const playout = new Playout({
    clock,
    frameBytes: FB,
    leadMs: LEAD,
    send: (frame, offset, length) => sent.push(Buffer.from(frame.subarray(offset, offset + length))),
    onFirstFrame: (g, at) => events.push(`first ${g} @${at}`),
    onIdle: () => events.push('idle'),
    onChunkStart: (g, chunk, text, offsetMs) => events.push(`chunk ${g}/${chunk} ${text} +${offsetMs}`),
    ...extra,
  });
  /** Label of each sent frame (frames are uniform, so the first byte identifies them). */
  const labels = () => sent.map((f) => f[0]);
  return { clock, sent, events, playout, labels };
}

describe('Playout', () => {
  describe('buffer ownership', () => {
    it('copies what it is given by default: the caller may reuse its buffer at once', () => {
      const { clock, playout, labels } = setup();
      const pcm = labelled(10, 0);
      playout.enqueue(pcm, { generation: 1, chunkIndex: 0 });
      pcm.fill(99); // the caller reuses its buffer while 4 frames still wait to be sent
      clock.advance(1000);
      expect(labels()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('plays a handed-over buffer in place, also one enqueued again for another generation', () => {
      const buffers = new Set<Buffer>();
      const frames: number[] = [];
      const { clock, playout } = setup({
        send: (frame, offset) => {
          buffers.add(frame);
          frames.push(frame[offset]);
        },
      });
      const phrase = labelled(4, 10); // a cached phrase: never written, shared by replies
      playout.enqueue(Buffer.alloc(FB / 2, 1), { generation: 1, chunkIndex: 0 });
      playout.finish(1);
      playout.enqueue(phrase, { generation: 2, chunkIndex: 0 }, true);
      playout.enqueue(phrase, { generation: 3, chunkIndex: 0 }, true);
      clock.advance(1000);
      expect(playout.sentFrames).toBe(9);
      // The padded half frame is the playout's own buffer; the phrase frames come from `phrase` itself.
      expect([...buffers].filter((b) => b !== phrase)).toHaveLength(1);
      expect(frames).toEqual([1, 10, 11, 12, 13, 10, 11, 12, 13]);
    });

    it('replays a handed-over buffer shared by two generations frame for frame after a pause', () => {
      const { clock, playout, labels } = setup();
      const phrase = labelled(3, 20);
      playout.enqueue(phrase, { generation: 1, chunkIndex: 0 }, true);
      playout.enqueue(phrase, { generation: 2, chunkIndex: 0 }, true);
      // Everything is sent within the lead (6 frames), nothing heard yet: all of it goes back on pause.
      expect(labels()).toEqual([20, 21, 22, 20, 21, 22]);
      expect(playout.pause()).toEqual({ generation: 1, heardMs: 0 });
      playout.resume();
      clock.advance(1000);
      expect(labels()).toEqual([20, 21, 22, 20, 21, 22, 20, 21, 22, 20, 21, 22]);
      expect(playout.heardMs(1)).toBe(60);
      expect(playout.heardMs(2)).toBe(60);
    });
  });

  it('sends at most lead/20 + 1 frames at once, then one frame per 20 ms', () => {
    const { clock, sent, playout } = setup();
    playout.enqueue(labelled(20), { generation: 1, chunkIndex: 0 });
    expect(sent).toHaveLength(LEAD / 20 + 1);
    clock.advance(19);
    expect(sent).toHaveLength(6);
    clock.advance(1);
    expect(sent).toHaveLength(7);
    for (let tick = 0; tick < 5; tick++) clock.advance(20);
    expect(sent).toHaveLength(12);
    expect(playout.sentFrames).toBe(12);
    clock.advance(1000);
    expect(playout.sentFrames).toBe(20);
    expect(sent.every((f) => f.length === FB)).toBe(true);
  });

  it('stays on the ideal timeline when the stream arrives in small pieces', () => {
    const { clock, playout } = setup();
    // 30 frames arriving as 7 uneven buffers over time: budget is floor((t + lead) / 20) + 1 at all times.
    const audio = labelled(30);
    const cuts = [0, 1000, 3000, 7000, 9000, 12000, 15000, audio.length];
    for (let i = 0; i + 1 < cuts.length; i++) {
      playout.enqueue(audio.subarray(cuts[i], cuts[i + 1]), { generation: 1, chunkIndex: 0 });
      if (i === 0) expect(playout.sentFrames).toBe(1); // 1000 bytes: one whole frame so far
      for (let t = 0; t < 3; t++) {
        clock.advance(7);
        const elapsed = clock.now() - 1000;
        expect(playout.sentFrames).toBeLessThanOrEqual(Math.floor((elapsed + LEAD) / 20) + 1);
      }
    }
  });

  it('cuts audio into exact frames and pads the last partial frame with silence when finished', () => {
    const { clock, sent, playout } = setup();
    const pcm = Buffer.alloc(1000, 7);
    playout.enqueue(pcm, { generation: 1, chunkIndex: 0 });
    expect(sent).toHaveLength(1);
    clock.advance(100);
    expect(sent).toHaveLength(1); // the 360-byte tail waits for more audio of this segment
    playout.finish(1);
    expect(sent).toHaveLength(2);
    expect(sent[0]).toEqual(Buffer.alloc(FB, 7));
    expect(sent[1]).toEqual(Buffer.concat([Buffer.alloc(360, 7), Buffer.alloc(FB - 360)]));
  });

  it('joins chunks of one generation seamlessly and pads when another generation starts', () => {
    const { sent, playout } = setup();
    playout.enqueue(Buffer.alloc(400, 1), { generation: 1, chunkIndex: 0 });
    playout.enqueue(Buffer.alloc(400, 2), { generation: 1, chunkIndex: 1 });
    playout.enqueue(Buffer.alloc(FB, 3), { generation: 2, chunkIndex: 0 });
    expect(sent).toEqual([
      Buffer.concat([Buffer.alloc(400, 1), Buffer.alloc(240, 2)]),
      Buffer.concat([Buffer.alloc(160, 2), Buffer.alloc(480)]),
      Buffer.alloc(FB, 3),
    ]);
  });

  it('rejects odd-length PCM', () => {
    const { playout } = setup();
    expect(() => playout.enqueue(Buffer.alloc(3), { generation: 1, chunkIndex: 0 })).toThrow(RangeError);
  });

  it('reports heard audio as it plays, excluding the lead', () => {
    const { clock, playout } = setup();
    playout.enqueue(labelled(10), { generation: 1, chunkIndex: 0 });
    expect(playout.sentFrames).toBe(6);
    expect(playout.heardMs(1)).toBe(0);
    clock.advance(50);
    expect(playout.heardMs(1)).toBe(40); // two whole frames played; the third is half-way
    clock.advance(150);
    expect(playout.heardMs(1)).toBe(200);
    expect(playout.heardMs(2)).toBe(0);
  });

  it('pause stops sending at once and reports the cut point', () => {
    const { clock, playout } = setup();
    playout.enqueue(labelled(20), { generation: 3, chunkIndex: 0 });
    clock.advance(50);
    const sentBefore = playout.sentFrames;
    expect(sentBefore).toBe(8);
    expect(playout.pause()).toEqual({ generation: 3, heardMs: 40 });
    expect(playout.playing).toBe(false);
    clock.advance(500);
    expect(playout.sentFrames).toBe(sentBefore);
    expect(playout.heardMs(3)).toBe(40);
    expect(playout.pause()).toEqual({ generation: 3, heardMs: 40 });
  });

  it('resume replays from the first unheard frame, then continues', () => {
    const { clock, playout, labels } = setup();
    playout.enqueue(labelled(20), { generation: 1, chunkIndex: 0 });
    clock.advance(50); // frames 0-7 sent, 0-1 heard
    playout.pause();
    clock.advance(300);
    const before = labels().length;
    playout.resume();
    expect(labels().slice(before)).toEqual([2, 3, 4, 5, 6, 7]);
    clock.advance(1000);
    expect(labels().slice(before)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(playout.heardMs(1)).toBe(20 * 20);
  });

  it('clear(generation) drops only that generation and counts cancellations, not drops', () => {
    const { clock, playout, labels } = setup();
    playout.enqueue(labelled(10, 0), { generation: 1, chunkIndex: 0 });
    playout.enqueue(labelled(5, 100), { generation: 2, chunkIndex: 0 });
    playout.enqueue(labelled(5, 200), { generation: 3, chunkIndex: 0 });
    playout.clear(2);
    clock.advance(1000);
    expect(labels()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 200, 201, 202, 203, 204]);
    expect(playout.cancelledFrames).toBe(5);
    expect(playout.droppedFrames).toBe(0);
  });

  it('clearing the generation that pause() cut lets the next reply play', () => {
    const { clock, playout, labels } = setup();
    playout.enqueue(labelled(10), { generation: 1, chunkIndex: 0 });
    clock.advance(30);
    expect(playout.pause().generation).toBe(1);
    playout.clear(1);
    expect(playout.cancelledFrames).toBe(9); // frame 0 heard; 1-6 sent but re-queued, 7-9 never sent
    const before = labels().length;
    playout.enqueue(labelled(2, 50), { generation: 2, chunkIndex: 0 });
    expect(labels().slice(before)).toEqual([50, 51]);
  });

  it('fires onFirstFrame, onChunkStart and onIdle at the right moments, once each', () => {
    const { clock, events, playout } = setup();
    playout.enqueue(labelled(2), { generation: 4, chunkIndex: 0, text: 'Hello,' });
    playout.enqueue(Buffer.alloc(FB / 2), { generation: 4, chunkIndex: 1, text: 'how are you?' });
    playout.finish(4);
    expect(events).toEqual(['first 4 @1000', 'chunk 4/0 Hello, +0', 'chunk 4/1 how are you? +40']);
    clock.advance(59);
    expect(events).not.toContain('idle'); // three frames are still playing
    clock.advance(1);
    expect(events[events.length - 1]).toBe('idle');
    expect(events.filter((e) => e === 'idle')).toHaveLength(1);
  });

  it('announces a chunk when the frame holding its first byte is sent', () => {
    const { clock, events, playout } = setup();
    playout.enqueue(labelled(10), { generation: 1, chunkIndex: 0, text: 'a' });
    playout.enqueue(labelled(2), { generation: 1, chunkIndex: 1, text: 'b' }); // frames 10-11
    expect(events.filter((e) => e.startsWith('chunk'))).toEqual(['chunk 1/0 a +0']);
    clock.advance(80); // frames up to 9 sent
    expect(events.filter((e) => e.startsWith('chunk'))).toHaveLength(1);
    clock.advance(20); // frame 10
    expect(events.filter((e) => e.startsWith('chunk'))).toEqual(['chunk 1/0 a +0', 'chunk 1/1 b +200']);
  });

  it('does not repeat events for audio replayed after resume', () => {
    const { clock, events, playout } = setup();
    playout.enqueue(labelled(4), { generation: 1, chunkIndex: 0, text: 'x' });
    playout.pause();
    playout.resume();
    clock.advance(200);
    expect(events).toEqual(['first 1 @1000', 'chunk 1/0 x +0', 'idle']);
  });

  it('restarts the timeline when audio arrives after the queue ran dry', () => {
    const { clock, playout } = setup();
    playout.enqueue(labelled(2), { generation: 1, chunkIndex: 0 });
    clock.advance(500);
    expect(playout.playing).toBe(false);
    playout.enqueue(labelled(20), { generation: 2, chunkIndex: 0 });
    expect(playout.playing).toBe(true);
    expect(playout.sentFrames).toBe(2 + 6);
    clock.advance(20);
    expect(playout.sentFrames).toBe(2 + 7);
  });

  it('keeps the lead bound when more audio arrives while earlier audio still plays', () => {
    const { clock, playout } = setup();
    playout.enqueue(labelled(3), { generation: 1, chunkIndex: 0 });
    clock.advance(10);
    playout.enqueue(labelled(20), { generation: 1, chunkIndex: 0 });
    expect(playout.sentFrames).toBe(6); // same timeline: floor((10 + 100) / 20) + 1
  });

  it('counts a frame whose send throws as dropped and keeps pacing', () => {
    let calls = 0;
    const { clock, playout } = setup({
      send: () => {
        if (++calls === 2) throw new Error('socket closed');
      },
    });
    playout.enqueue(labelled(8), { generation: 1, chunkIndex: 0 });
    clock.advance(1000);
    expect(playout.droppedFrames).toBe(1);
    expect(playout.sentFrames).toBe(7);
  });

  it('leaves no timers behind after close or when idle', () => {
    const { clock, playout } = setup();
    playout.enqueue(labelled(3), { generation: 1, chunkIndex: 0 });
    clock.advance(1000);
    expect(clock.pendingTimers).toBe(0);
    playout.enqueue(labelled(20), { generation: 2, chunkIndex: 0 });
    expect(clock.pendingTimers).toBe(1);
    playout.close();
    expect(clock.pendingTimers).toBe(0);
    expect(playout.cancelledFrames).toBe(14);
    playout.enqueue(labelled(1), { generation: 3, chunkIndex: 0 });
    clock.advance(1000);
    expect(playout.sentFrames).toBe(3 + 6);
  });
});

describe('FakeClock', () => {
  it('runs due timers in time order, including timers scheduled by timers', () => {
    const clock = new FakeClock();
    const log: string[] = [];
    clock.setTimeout(() => {
      log.push(`a@${clock.now()}`);
      clock.setTimeout(() => log.push(`c@${clock.now()}`), 5);
    }, 10);
    clock.setTimeout(() => log.push(`b@${clock.now()}`), 12);
    const cancelled = clock.setTimeout(() => log.push('never'), 1);
    clock.clearTimeout(cancelled);
    clock.advance(20);
    expect(log).toEqual(['a@10', 'b@12', 'c@15']);
    expect(clock.now()).toBe(20);
    expect(clock.pendingTimers).toBe(0);
  });
  it('reports how late each frame-sending pacing timer fired, and nothing for the end-of-run timer', () => {
    // A clock whose timers run only when the test says, at a chosen lateness (an event loop that stalled).
    let now = 1000;
    const timers: Array<{ at: number; fn: () => void }> = [];
    const clock = {
      now: () => now,
      setTimeout: (fn: () => void, ms: number) => timers.push({ at: now + ms, fn }),
      clearTimeout: () => undefined,
    };
    const late: number[] = [];
    const playout = new Playout({
      clock,
      frameBytes: FB,
      leadMs: LEAD,
      send: () => undefined,
      onPacing: (ms) => late.push(ms),
    });
    playout.enqueue(labelled(8), { generation: 1, chunkIndex: 0 });
    expect(playout.sentFrames).toBe(6);
    // Frame 6 is due at 1020: its timer fires 7 ms late.
    let t = timers.pop()!;
    now = t.at + 7;
    t.fn();
    expect(late).toEqual([7]);
    expect(playout.sentFrames).toBe(7);
    // Frame 7 (due 1040, the timeline does not drift): on time.
    t = timers.pop()!;
    expect(t.at).toBe(1040);
    now = t.at;
    t.fn();
    expect(late).toEqual([7, 0]);
    expect(playout.sentFrames).toBe(8);
    // Nothing left to send: the timer that ends the run is not a pacing timer.
    t = timers.pop()!;
    now = t.at + 30;
    t.fn();
    expect(late).toEqual([7, 0]);
  });
});
