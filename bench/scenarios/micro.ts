/**
 * micro — what one 20 ms frame costs on each stage of a call's media path, in µs of CPU on this core.
 * Every stage is timed in isolation on realistic input (a speech-like 16 kHz signal, real ACS AudioData
 * JSON, a real `ws` server socket), after a warm-up, in several rounds whose median is reported.
 *
 * From these the floor-implied ceiling: a core has 20 000 µs per 20 ms; one call spends at least
 * `FLOOR_STAGES` µs of it per frame, so no amount of tuning elsewhere carries more calls than
 * floor(20 000 / that sum). The capacity scenario is reported as a fraction of this ceiling.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { setImmediate as tick } from 'node:timers/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import { bufferView, frameBytes, frameSamples } from '../../src/audio/pcm';
import { Resampler } from '../../src/audio/resampler';
import { AcsMediaDecoder, AudioDataWriter } from '../../src/media/codec/acs-media-codec';
import { FakeClock } from '../../src/media/pipeline/clock';
import { Playout } from '../../src/media/pipeline/playout';
import { TextChunker } from '../../src/media/pipeline/text-chunker';
import { SileroVad } from '../../src/speech/vad/silero-vad';
import { sileroBatchedUs } from '../lib/silero-batched';
import { WebRtcVad } from '../../src/speech/vad/webrtc-vad';
import { median, round } from '../lib/stats';
import type { BenchContext, MicroResult } from '../lib/types';

const RATE = 16_000;
const FRAME_BYTES = frameBytes(RATE); // 640
const FRAME_SAMPLES = frameSamples(RATE); // 320
const FRAME_BUDGET_US = 20_000;
/** The media gateway sends AudioData as text frames, also when it hands over the bytes. */
const TEXT_FRAME = { binary: false } as const;

/** The per-frame stages one call pays on every frame, inbound and outbound, besides its VAD. */
export const FLOOR_STAGES = ['codec_parse_us', 'resampler_us', 'playout_us', 'encode_send_us'] as const;
export const FLOOR_FORMULA =
  'floor(20000 / (codec_parse_us + vad_silero_batched_us + resampler_us + playout_us + encode_send_us)) ' +
  '(Silero as the service runs it: batched across calls); ' +
  'floor_calls_per_core_webrtc uses vad_webrtc_us instead. Assumes agent audio is sent on every frame ' +
  '(both directions busy) and one resampling pass per frame; chunker_us is per LLM token and left out.';

/** floor(20 000 µs / per-call µs per frame) for the given VAD cost. */
export function floorCallsPerCore(
  costs: Record<(typeof FLOOR_STAGES)[number], number>,
  vadUs: number,
): number {
  const perCall = FLOOR_STAGES.reduce((sum, k) => sum + costs[k], vadUs);
  return perCall > 0 ? Math.floor(FRAME_BUDGET_US / perCall) : 0;
}

export interface MicroOptions {
  /** Timed iterations per stage (default 20 000, 2 000 with --quick). */
  iterations?: number;
}

interface Plan {
  iterations: number;
  rounds: number;
  warmup: number;
}

/** A deterministic speech-like signal: voiced syllables (harmonics of a wandering f0) with pauses, and noise. */
export function speechLikePcm(seconds: number, seed = 1): Int16Array {
  let s = seed >>> 0 || 1;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const n = Math.round(seconds * RATE);
  const out = new Int16Array(n);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / RATE;
    const f0 = 140 + 40 * Math.sin(2 * Math.PI * 0.7 * t);
    phase += (2 * Math.PI * f0) / RATE;
    const syllable = Math.max(0, Math.sin(2 * Math.PI * 4 * t)); // ~4 syllables per second
    const talking = t % 3 < 2 ? 1 : 0; // 2 s of speech, 1 s pause
    let voiced = 0;
    for (let h = 1; h <= 8; h++) voiced += Math.sin(h * phase) / h;
    out[i] = Math.round(6000 * talking * syllable * voiced + 150 * rand());
  }
  return out;
}

/** Runs `fn` `warmup` times, then `iterations` times in `rounds`; the median round's µs per iteration. */
async function timeUs(
  plan: Plan,
  fn: (i: number) => void,
  onRound?: (round: number) => void,
  between?: () => Promise<void>,
): Promise<number> {
  for (let i = 0; i < plan.warmup; i++) fn(i);
  if (between) await between();
  const perRound = Math.max(1, Math.floor(plan.iterations / plan.rounds));
  const rounds: number[] = [];
  let i = plan.warmup;
  for (let r = 0; r < plan.rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < perRound; k++) fn(i++);
    rounds.push(Number(process.hrtime.bigint() - t0) / 1000 / perRound);
    onRound?.(r + 1);
    if (between) await between();
  }
  return median(rounds);
}

/** Realistic inbound ACS AudioData messages (as the gateway receives them: Buffers of JSON text). */
function acsMessages(frames: Buffer[]): Buffer[] {
  const participant = '8:acs:1bdaa2b9-9507-4542-bb64-a7b22c00a8d4_0000001c-2f7c-4d3a-85f4-343a0d00b7e3';
  const start = Date.parse('2026-01-01T10:00:00.000Z');
  return frames.map((f, i) =>
    Buffer.from(
      JSON.stringify({
        kind: 'AudioData',
        audioData: {
          timestamp: new Date(start + i * 20).toISOString(),
          participantRawID: participant,
          data: f.toString('base64'),
          silent: false,
        },
      }),
    ),
  );
}

/** A real `ws` server socket whose peer is a raw TCP client that discards what it receives. */
async function wsPair(): Promise<{ ws: WebSocket; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await once(wss, 'listening');
  const { port } = wss.address() as AddressInfo;
  const connected = once(wss, 'connection') as Promise<[WebSocket]>;
  const peer: Socket = connect(port, '127.0.0.1');
  await once(peer, 'connect');
  peer.on('data', () => undefined);
  peer.write(
    `GET /api/v1/media/stream HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const [ws] = await connected;
  return {
    ws,
    close: async () => {
      ws.terminate();
      peer.destroy();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** LLM-like tokens: words with their leading space, long words split in pieces of ≤ 4 characters. */
export function llmTokens(text: string): string[] {
  return text.match(/\s*[^\s]{1,4}/g) ?? [];
}

const REPLY =
  "Thanks for calling Contoso Insurance. I'm sorry to hear about the accident on Main Street yesterday, " +
  'is everyone okay? To open a claim I need your policy number, the date and time of the accident, and ' +
  "a short description of what happened. If you don't have the policy number at hand, I can look it up " +
  'with your ZIP code and date of birth instead: which would you prefer? Your claim reference will be ' +
  'sent by text message within 10 minutes, and an adjuster will call you back by 3.30 p.m. tomorrow.';

export async function run(ctx: BenchContext, options: MicroOptions = {}): Promise<MicroResult> {
  const plan: Plan = {
    iterations: options.iterations ?? (ctx.quick ? 2_000 : 20_000),
    rounds: ctx.quick ? 3 : 5,
    warmup: 1_000, // also with --quick: fewer warm-up runs leave the JSON parse unoptimised
  };
  const stages = [
    'codec_parse',
    'encode_only',
    'encode_send',
    'resampler',
    'vad_silero',
    'vad_webrtc',
    'chunker',
    'playout',
  ];
  let stage = 0;
  const step = (name: string) => (r: number) => ctx.progress(name, (stage + r / plan.rounds) / stages.length);
  const next = () => {
    stage++;
  };

  const signal = speechLikePcm(10);
  const frameCount = Math.floor(signal.length / FRAME_SAMPLES);
  const frames = Array.from({ length: frameCount }, (_, i) =>
    signal.subarray(i * FRAME_SAMPLES, (i + 1) * FRAME_SAMPLES),
  );
  const frameBufs = frames.map((f) => Buffer.from(bufferView(f)));
  const pcm = Buffer.concat(frameBufs);
  const frameAt = (i: number) => frames[i % frameCount];

  // codec_parse_us: one inbound AudioData message → typed frame with PCM in the decoder's scratch buffer.
  const messages = acsMessages(frameBufs);
  const decoder = new AcsMediaDecoder();
  const codecParse = await timeUs(
    plan,
    (i) => {
      const r = decoder.decode(messages[i % messages.length]);
      if (!r.ok) throw new Error(`codec rejected a bench frame: ${r.error.reason}`);
    },
    step('codec parse + base64 decode'),
  );
  next();

  // encode_only_us: outbound frame → AudioData message bytes, as the media cascade encodes them (a
  // per-call AudioDataWriter; released at once here, since no socket holds the buffer).
  let sink = 0;
  const writer = new AudioDataWriter(FRAME_BYTES);
  const encodeOnly = await timeUs(
    plan,
    (i) => {
      const message = writer.encode(pcm, (i % frameCount) * FRAME_BYTES, FRAME_BYTES);
      sink += message.bytes.length;
      message.release();
    },
    step('encode'),
  );
  next();

  // encode_send_us: encode + ws.send on a real server socket (framing and the socket write syscall), as
  // the media gateway sends: a text frame whose buffer goes back to the writer once written. Sends go in
  // bursts of 16 frames and the socket is let drain between bursts (not timed), as on a call.
  const pair = await wsPair();
  const send = (i: number) => {
    const message = writer.encode(pcm, (i % frameCount) * FRAME_BYTES, FRAME_BYTES);
    pair.ws.send(message.bytes, TEXT_FRAME, message.release);
  };
  let encodeSend: number;
  try {
    const burst = 16;
    const drain = async () => {
      await tick();
      for (let guard = 0; pair.ws.bufferedAmount > 0 && guard < 10_000; guard++) await tick();
    };
    const bursts = Math.max(1, Math.floor(plan.iterations / burst));
    const burstPlan: Plan = {
      iterations: bursts,
      rounds: plan.rounds,
      warmup: Math.ceil(plan.warmup / burst),
    };
    const rounds: number[] = [];
    for (let k = 0; k < burstPlan.warmup; k++) {
      for (let j = 0; j < burst; j++) send(j);
      await drain();
    }
    const perRound = Math.max(1, Math.floor(bursts / plan.rounds));
    let i = 0;
    for (let r = 0; r < plan.rounds; r++) {
      let ns = 0n;
      for (let b = 0; b < perRound; b++) {
        const t0 = process.hrtime.bigint();
        for (let j = 0; j < burst; j++, i++) send(i);
        ns += process.hrtime.bigint() - t0;
        await drain();
      }
      rounds.push(Number(ns) / 1000 / (perRound * burst));
      step('encode + ws send')(r + 1);
    }
    encodeSend = median(rounds);
  } finally {
    await pair.close();
  }
  next();

  // resampler_us: 16 → 24 kHz, one 20 ms frame (stateful speex, SIMD WASM).
  const up = await Resampler.create(RATE, 24_000);
  let resampler: number;
  try {
    resampler = await timeUs(plan, (i) => void up.process(frameAt(i)), step('resampler 16→24 kHz'));
  } finally {
    up.dispose();
  }
  next();

  // vad_silero_us / vad_webrtc_us: one 20 ms frame through a call's VAD stream.
  // Inference on this thread: the per-frame CPU is the measure (the worker adds only its hand-over).
  const silero = new SileroVad(undefined, { thread: 'main' });
  const sileroStream = await silero.createStream(RATE);
  let vadSilero: number;
  try {
    vadSilero = await timeUs(plan, (i) => void sileroStream.process(frameAt(i)), step('VAD Silero'));
  } finally {
    sileroStream.close();
  }
  // vad_silero_batched_us: as the media cascade runs it (32 calls, one inference per event-loop turn).
  let vadSileroBatched: number;
  try {
    vadSileroBatched = await sileroBatchedUs(silero, frameAt, { frames: plan.iterations });
  } finally {
    await silero.dispose();
  }
  next();
  const webrtcStream = await new WebRtcVad().createStream(RATE);
  let vadWebrtc: number;
  try {
    vadWebrtc = await timeUs(plan, (i) => void webrtcStream.process(frameAt(i)), step('VAD WebRTC'));
  } finally {
    webrtcStream.close();
  }
  next();

  // chunker_us: per LLM token (not per frame); a reply is flushed when its tokens are used up.
  const tokens = llmTokens(REPLY);
  const chunker = new TextChunker();
  const chunkerPlan: Plan = { ...plan, iterations: plan.iterations * 5 };
  const chunkerUs = await timeUs(
    chunkerPlan,
    (i) => {
      const k = i % tokens.length;
      sink += chunker.push(tokens[k]).length;
      if (k === tokens.length - 1) sink += chunker.flush().length;
    },
    step('sentence chunker'),
  );
  next();

  // playout_us: per 20 ms of agent audio: TTS PCM enqueued in 100 ms chunks, one frame paced out per
  // tick of a FakeClock (the pacing timer included), a new reply (generation) every 5 s.
  const clock = new FakeClock();
  const playout = new Playout({
    clock,
    frameBytes: FRAME_BYTES,
    leadMs: 100,
    send: (_buf, _off, len) => {
      sink += len;
    },
  });
  const chunkBytes = FRAME_BYTES * 5;
  const framesPerReply = 250;
  let playoutUs: number;
  try {
    playoutUs = await timeUs(
      plan,
      (i) => {
        const inReply = i % framesPerReply;
        const generation = Math.floor(i / framesPerReply) + 1;
        if (inReply % 5 === 0) {
          const off = ((i / 5) % Math.floor(pcm.length / chunkBytes)) * chunkBytes;
          playout.enqueue(pcm.subarray(off, off + chunkBytes), { generation, chunkIndex: inReply / 5 });
          if (inReply === framesPerReply - 5) playout.finish(generation);
        }
        clock.advance(20);
      },
      step('playout'),
    );
  } finally {
    playout.close();
  }
  next();
  if (sink < 0) ctx.log('unreachable'); // keeps the sink observable so no work is optimised away

  const costs = {
    codec_parse_us: codecParse,
    resampler_us: resampler,
    playout_us: playoutUs,
    encode_send_us: encodeSend,
  };
  ctx.progress('done', 1);
  return {
    codec_parse_us: round(codecParse, 2),
    encode_only_us: round(encodeOnly, 2),
    encode_send_us: round(encodeSend, 2),
    resampler_us: round(resampler, 2),
    vad_silero_us: round(vadSilero, 2),
    vad_silero_batched_us: round(vadSileroBatched, 2),
    vad_webrtc_us: round(vadWebrtc, 2),
    chunker_us: round(chunkerUs, 3),
    playout_us: round(playoutUs, 2),
    floor_calls_per_core: floorCallsPerCore(costs, vadSileroBatched),
    floor_calls_per_core_webrtc: floorCallsPerCore(costs, vadWebrtc),
  };
}
