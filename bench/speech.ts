/**
 * `npm run bench:speech` — figures for the embedded speech engines on this machine:
 * STT real-time factor and end-of-utterance → final latency (audio fed at real time), TTS time to first
 * audio and real-time factor, VAD and resampler cost per 20 ms frame. Prints a table (stdout) and,
 * with --json, one JSON object instead. Not a test: no thresholds are asserted, targets are printed.
 */
import { cpus } from 'node:os';
import { bufferView, frameSamples, int16View } from '../src/audio/pcm';
import { Resampler } from '../src/audio/resampler';
import { createFlitePool, FliteTextToSpeech } from '../src/speech/local/flite/flite-text-to-speech';
import { createPocketsphinxPool, LocalSpeechToText } from '../src/speech/local/local-speech-to-text';
import { SileroVad } from '../src/speech/vad/silero-vad';
import { WebRtcVad } from '../src/speech/vad/webrtc-vad';
import { sileroBatchedUs as measureSileroBatched } from './lib/silero-batched';
import type { SttEvent } from '../src/speech/ports';

const json = process.argv.includes('--json');
/** Default endpointing silence of the MEDIA pipeline (issue: media pipeline defaults). */
const ENDPOINTING_MS = 400;
const quick = process.argv.includes('--quick');
const SENTENCES = [
  'Hello, thanks for calling Contoso Insurance. How can I help you today?',
  'I was in a car accident yesterday on Main Street.',
  'Can you tell me what my policy covers for water damage?',
  'Please confirm your ZIP code.',
];

const pct = (values: number[], p: number) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN;
};
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

async function synth(tts: FliteTextToSpeech, text: string, voice = 'slt') {
  const t0 = performance.now();
  let first = NaN;
  const chunks: Buffer[] = [];
  for await (const c of tts.synthesize({ text, voice: { name: voice }, sampleRate: 16000 })) {
    if (Number.isNaN(first)) first = performance.now() - t0;
    chunks.push(Buffer.from(c));
  }
  const pcm = Buffer.concat(chunks);
  return { first, total: performance.now() - t0, pcm };
}

async function benchTts(tts: FliteTextToSpeech) {
  const firsts: number[] = [];
  const rtfs: number[] = [];
  for (let round_ = 0; round_ < (quick ? 1 : 3); round_++) {
    for (const s of SENTENCES) {
      const r = await synth(tts, s);
      firsts.push(r.first);
      rtfs.push(r.total / ((r.pcm.length / 2 / 16000) * 1000));
    }
  }
  return {
    tts_first_audio_ms: { p50: round(pct(firsts, 0.5)), p95: round(pct(firsts, 0.95)) },
    tts_rtf: round(pct(rtfs, 0.5), 3),
  };
}

async function benchStt(tts: FliteTextToSpeech) {
  const pool = createPocketsphinxPool({ max: 1, minIdle: 1 });
  await pool.start();
  const stt = new LocalSpeechToText(pool);
  const latencies: number[] = [];
  const rtfs: number[] = [];
  for (const s of quick ? SENTENCES.slice(0, 2) : SENTENCES) {
    const { pcm: speech } = await synth(tts, s, 'rms');
    // The turn detector calls endUtterance after ENDPOINTING_MS of VAD silence, so the decoder has
    // heard that silence when it is asked for the final: feed it the same way.
    const pcm = Buffer.concat([speech, Buffer.alloc(((16000 * ENDPOINTING_MS) / 1000) * 2)]);
    const session = await stt.open({ sampleRate: 16000 });
    let finalAt = 0;
    const gotFinal = new Promise<void>((resolve) =>
      session.onEvent((e: SttEvent) => {
        if (e.type === 'final') {
          finalAt = performance.now();
          resolve();
        }
      }),
    );
    // Real-time feeding: 20 ms frames on a 20 ms clock, as on a call.
    const frame = frameSamples(16000) * 2;
    const start = performance.now();
    for (let off = 0, i = 0; off + frame <= pcm.length; off += frame, i++) {
      session.write(pcm.subarray(off, off + frame));
      const due = start + (i + 1) * 20;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const endAt = performance.now();
    session.endUtterance();
    await gotFinal;
    latencies.push(finalAt - endAt);
    await session.close();
    // Decode cost alone: the whole clip pushed at once.
    const s2 = await stt.open({ sampleRate: 16000 });
    const t0 = performance.now();
    const done = new Promise<void>((resolve) => s2.onEvent((e) => e.type === 'final' && resolve()));
    for (let off = 0; off + frame <= pcm.length; off += frame) s2.write(pcm.subarray(off, off + frame));
    s2.endUtterance();
    await done;
    rtfs.push((performance.now() - t0) / ((pcm.length / 2 / 16000) * 1000));
    await s2.close();
  }
  await pool.close();
  return {
    stt_final_after_eou_ms: { p50: round(pct(latencies, 0.5)), p95: round(pct(latencies, 0.95)) },
    stt_rtf: round(pct(rtfs, 0.5), 3),
  };
}

function timePerFrame(fn: (i: number) => void, frames: number): number {
  for (let i = 0; i < Math.min(200, frames); i++) fn(i); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < frames; i++) fn(i);
  return Number(process.hrtime.bigint() - t0) / frames / 1000;
}

async function benchFrames(tts: FliteTextToSpeech) {
  const { pcm } = await synth(tts, SENTENCES.join(' '));
  const samples = int16View(pcm);
  const n = frameSamples(16000);
  const frames = Math.floor(samples.length / n);
  const frameAt = (i: number) => samples.subarray((i % frames) * n, (i % frames) * n + n);
  const count = quick ? 2000 : 20000;

  // Inference on this thread: the per-frame CPU is the measure (the worker adds only its hand-over).
  const silero = new SileroVad(undefined, { thread: 'main' });
  const sileroStream = await silero.createStream(16000);
  const sileroUs = timePerFrame((i) => sileroStream.process(frameAt(i)), count);
  sileroStream.close();
  // As the media cascade runs it: 32 calls whose windows share one inference per event-loop turn.
  const sileroBatchedUs = await measureSileroBatched(silero, frameAt, { frames: count });
  await silero.dispose();

  const webrtc = new WebRtcVad();
  const webrtcStream = await webrtc.createStream(16000);
  const webrtcUs = timePerFrame((i) => webrtcStream.process(frameAt(i)), count);
  webrtcStream.close();

  const up = await Resampler.create(16000, 24000);
  const up24 = bufferView(up.process(samples).slice());
  up.dispose();
  const s24 = int16View(up24);
  const n24 = frameSamples(24000);
  const down = await Resampler.create(24000, 16000);
  const resamplerUs = timePerFrame(
    (i) => down.process(s24.subarray((i % frames) * n24, (i % frames) * n24 + n24)),
    count,
  );
  down.dispose();
  return {
    vad_us_per_frame: {
      silero: round(sileroUs, 1),
      silero_batched_32_calls: round(sileroBatchedUs, 1),
      webrtc: round(webrtcUs, 2),
    },
    resampler_us_per_frame: round(resamplerUs, 1),
  };
}

async function main() {
  // The service's engine: libflite in pooled worker threads, started (warm) before anything is timed.
  const pool = createFlitePool();
  await pool.start();
  const tts = new FliteTextToSpeech(pool);
  const result = {
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    ...(await benchFrames(tts)),
    ...(await benchTts(tts)),
    ...(await benchStt(tts)),
  };
  await pool.close();
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const rows: [string, string, string][] = [
    ['VAD Silero µs / 20 ms frame (one call)', String(result.vad_us_per_frame.silero), '≤ 100'],
    [
      'VAD Silero µs / 20 ms frame (32 calls, batched)',
      String(result.vad_us_per_frame.silero_batched_32_calls),
      '≤ 100',
    ],
    ['VAD WebRTC µs / 20 ms frame', String(result.vad_us_per_frame.webrtc), '≤ 5'],
    ['resampler 24→16 kHz µs / frame', String(result.resampler_us_per_frame), '≤ 15'],
    [
      'TTS (flite) first audio ms p50 / p95',
      `${result.tts_first_audio_ms.p50} / ${result.tts_first_audio_ms.p95}`,
      '≤ 60',
    ],
    ['TTS (flite) real-time factor', String(result.tts_rtf), '< 1'],
    [
      'STT (pocketsphinx) final after end of utterance ms p50 / p95',
      `${result.stt_final_after_eou_ms.p50} / ${result.stt_final_after_eou_ms.p95}`,
      '≤ 30',
    ],
    ['STT (pocketsphinx) real-time factor', String(result.stt_rtf), '< 0.3'],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(`${'measure'.padEnd(w)}  measured        target\n`);
  for (const [name, value, target] of rows)
    process.stdout.write(`${name.padEnd(w)}  ${value.padEnd(14)}  ${target}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:speech failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
