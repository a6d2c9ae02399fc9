import { DomainError } from '../common/errors';
import { frameBytes } from '../audio/pcm';
import type { ExpectedInput, SpeechToText, SttEvent } from './ports';

export interface TranscriptionResult {
  text: string;
  finals: Array<Extract<SttEvent, { type: 'final' }>>;
  partials: number;
  timings: {
    audioMs: number;
    /** Wall time to push the audio and get every final. */
    wallMs: number;
    /** endUtterance() → the last final (the end-of-utterance latency of the engine). */
    finalAfterEndMs: number;
  };
}

export interface TranscribeOptions {
  sampleRate: number;
  expected?: ExpectedInput;
  language?: string;
  /** Silence appended so engines that segment on silence (Azure) close the last phrase. */
  trailingSilenceMs?: number;
  /** How long to wait for more finals after the first one following the end of audio. */
  settleMs?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Transcribes a whole clip through a streaming STT session (as fast as the engine takes it): used by
 * `voxline transcribe`, the round-trip tests and the speech benchmark.
 */
export async function transcribePcm(
  stt: SpeechToText,
  pcm: Buffer,
  options: TranscribeOptions,
): Promise<TranscriptionResult> {
  const started = performance.now();
  const session = await stt.open({
    sampleRate: options.sampleRate,
    expected: options.expected ?? 'free',
    language: options.language,
    signal: options.signal,
  });
  const finals: TranscriptionResult['finals'] = [];
  let partials = 0;
  let endAt = Infinity;
  let lastFinalAt = 0;
  let failure: DomainError | undefined;
  let wake: (() => void) | undefined;
  session.onEvent((e) => {
    if (e.type === 'final') {
      lastFinalAt = performance.now();
      if (e.text.trim()) finals.push(e);
    } else if (e.type === 'partial') partials++;
    else failure = e.error;
    if (e.type !== 'partial') wake?.();
  });
  try {
    const frame = frameBytes(options.sampleRate);
    const silence = Buffer.alloc(frameBytes(options.sampleRate, options.trailingSilenceMs ?? 300));
    const audio = Buffer.concat([pcm, silence]);
    for (let off = 0; off + frame <= audio.length; off += frame)
      session.write(audio.subarray(off, off + frame));
    endAt = performance.now();
    const countAtEnd = finals.length;
    session.endUtterance();
    const deadline = endAt + (options.timeoutMs ?? 15_000);
    const settleMs = options.settleMs ?? 1500;
    // Local engines answer endUtterance with a final; engines that segment on silence may already have
    // sent theirs, so after the end either a new final arrives or, with finals in hand, we settle.
    while (!failure && finals.length === countAtEnd && performance.now() < deadline) {
      if (finals.length > 0 && performance.now() - endAt > settleMs) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    if (failure) throw failure;
    if (finals.length === countAtEnd && finals.length === 0 && performance.now() >= deadline) {
      throw new DomainError(
        'PROVIDER_TIMEOUT',
        `no transcript within ${options.timeoutMs ?? 15_000} ms after the end of the audio`,
      );
    }
  } finally {
    await session.close();
  }
  const last = performance.now();
  return {
    text: finals
      .map((f) => f.text.trim())
      .join(' ')
      .trim(),
    finals,
    partials,
    timings: {
      audioMs: Math.round((pcm.length / 2 / options.sampleRate) * 1000),
      wallMs: Math.round(last - started),
      finalAfterEndMs: Math.round(Math.max(0, lastFinalAt - endAt)),
    },
  };
}
