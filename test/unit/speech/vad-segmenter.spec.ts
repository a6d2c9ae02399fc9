import { VadSegmenter } from '../../../src/speech/vad/vad-segmenter';

const opts = { threshold: 0.5, minSpeechMs: 100, minSilenceMs: 300, paddingMs: 200 };

function feed(seg: VadSegmenter, probs: number[]) {
  return probs.map((p) => seg.push(p)).flatMap((e, i) => (e ? [{ frame: i, ...e }] : []));
}

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
});
