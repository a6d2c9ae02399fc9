import { VadSegmenter } from '../../../src/speech/vad/vad-segmenter';

const opts = { threshold: 0.5, minSpeechMs: 100, minSilenceMs: 300, paddingMs: 200 };

function feed(seg: VadSegmenter, probs: number[], loud: boolean[] = []) {
  return probs.map((p, i) => seg.push(p, loud[i])).flatMap((e, i) => (e ? [{ frame: i, ...e }] : []));
}

const fill = <T>(n: number, v: T): T[] => Array<T>(n).fill(v);

describe('VadSegmenter (counted in 20 ms frames)', () => {
  it('reports speech start once minSpeech of speech is seen, stamped at onset minus padding', () => {
    const seg = new VadSegmenter(opts, 20);
    const events = feed(seg, [...Array(20).fill(0), ...Array(5).fill(0.9)]);
    // onset at frame 20 (400 ms); confirmed on the 5th speech frame (frame 24); minus 200 ms padding.
    expect(events).toEqual([{ frame: 24, type: 'speech_start', atMs: 200 }]);
  });

  it('ignores speech bursts shorter than minSpeech', () => {
    const seg = new VadSegmenter(opts, 20);
    expect(feed(seg, [0.9, 0.9, 0.9, 0.9, 0, 0, 0.9, 0.9, 0])).toEqual([]);
  });

  it('reports speech end after minSilence of silence, stamped at the last speech frame', () => {
    const seg = new VadSegmenter(opts, 20);
    const events = feed(seg, [...Array(10).fill(0.9), ...Array(20).fill(0.1)]);
    expect(events[1]).toEqual({ frame: 24, type: 'speech_end', atMs: 200, durationMs: 200 });
  });

  it('bridges pauses shorter than minSilence and uses hysteresis below the threshold', () => {
    const seg = new VadSegmenter(opts, 20);
    const events = feed(seg, [
      ...Array(10).fill(0.9),
      ...Array(10).fill(0.1),
      ...Array(10).fill(0.4),
      ...Array(20).fill(0),
    ]);
    // 0.4 is under the threshold but above threshold − 0.15: still speech once speaking.
    expect(events.map((e) => e.type)).toEqual(['speech_start', 'speech_end']);
    expect(events[1]).toMatchObject({ atMs: 600 });
  });

  describe('onset lookback (a model that reacts after the first loud frame)', () => {
    const barge = { threshold: 0.5, minSpeechMs: 250, minSilenceMs: 300, paddingMs: 0 };
    // 20 quiet frames, then the caller: loud from frame 20, the model says speech from frame 23 on.
    const probs = [...fill(23, 0.05), ...fill(20, 0.9)];
    const loud = [...fill(20, false), ...fill(23, true)];

    it("counts minSpeech from the first loud frame before the model's first speech frame", () => {
      const events = feed(new VadSegmenter(barge, 20, 96), probs, loud);
      // Onset 400 ms (frame 20); 250 ms later is the end of frame 32.
      expect(events).toEqual([{ frame: 32, type: 'speech_start', atMs: 400 }]);
    });

    it("without lookback counts from the model's own onset, three frames later", () => {
      expect(feed(new VadSegmenter(barge, 20, 0), probs, loud)).toEqual([
        { frame: 35, type: 'speech_start', atMs: 460 },
      ]);
      expect(feed(new VadSegmenter(barge, 20), probs, loud)).toEqual([
        { frame: 35, type: 'speech_start', atMs: 460 },
      ]);
    });

    it('moves the onset back by at most the lookback, however long the loud run before it', () => {
      const longLoud = [...fill(5, false), ...fill(38, true)];
      // Model onset at frame 23 (460 ms); the loud run began at 100 ms; the onset moves to 460 − 96.
      expect(feed(new VadSegmenter(barge, 20, 96), probs, longLoud)).toEqual([
        { frame: 30, type: 'speech_start', atMs: 364 },
      ]);
    });

    it('takes the lookback only from a loud run that reaches the first speech frame', () => {
      // Loud at frames 19-20, quiet at 21, loud again from 22: the onset moves to frame 22 only.
      const broken = [...fill(19, false), true, true, false, ...fill(21, true)];
      expect(feed(new VadSegmenter(barge, 20, 96), probs, broken)).toEqual([
        { frame: 34, type: 'speech_start', atMs: 440 },
      ]);
    });

    it('never lets the model confirm less than half of minSpeech', () => {
      const short = { ...barge, minSpeechMs: 100 };
      // Lookback 96 is capped at 50 ms: model onset 460, onset 410, start at the end of frame 25 (520).
      expect(feed(new VadSegmenter(short, 20, 96), probs, loud)).toEqual([
        { frame: 25, type: 'speech_start', atMs: 410 },
      ]);
    });

    it('loud frames alone start no segment', () => {
      expect(feed(new VadSegmenter(barge, 20, 96), fill(100, 0.3), fill(100, true))).toEqual([]);
    });

    it('forgets the loud run on reset', () => {
      const seg = new VadSegmenter(barge, 20, 96);
      feed(seg, fill(10, 0.05), fill(10, true));
      seg.reset();
      expect(feed(seg, fill(20, 0.9), fill(20, false))).toEqual([
        { frame: 12, type: 'speech_start', atMs: 0 },
      ]);
    });
  });
});
