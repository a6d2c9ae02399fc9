import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DomainError } from '../../common/errors';
import { int16View, bufferView } from '../../audio/pcm';
import { resampleAll } from '../../audio/resampler';
import { decodePcm16Mono } from '../../audio/wav';
import { TextToSpeech, type SynthesisRequest } from '../ports';
import { synthesisUnits } from './sentences';

export interface FliteOptions {
  binary?: string;
  /** Bound on one sentence's synthesis. */
  timeoutMs?: number;
  tmpDir?: string;
  /** Bytes per yielded chunk (100 ms at the output rate by default). */
  chunkMs?: number;
}

const FLITE_VOICES = new Set(['slt', 'rms', 'awb', 'kal16', 'kal']);
const FLITE_RATE = 16000;

/** True when the flite binary runs (checked once at boot to pick the local TTS engine). */
export function fliteAvailable(binary = 'flite'): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(binary, ['-lv'], { stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}

/**
 * Embedded TTS with Debian's flite (native 16 kHz, 40–80 ms per sentence): sentence by sentence, each
 * sentence yielded in ~100 ms chunks as soon as it is synthesized, resampled to the requested rate.
 * Text goes to flite as an argument (no shell), audio comes back through a temp file because flite
 * cannot write its WAV to a pipe.
 */
export class FliteTextToSpeech extends TextToSpeech {
  readonly driver = 'local';
  private readonly binary: string;
  private readonly timeoutMs: number;
  private readonly tmpDir: string;
  private readonly chunkMs: number;

  constructor(options: FliteOptions = {}) {
    super();
    this.binary = options.binary ?? 'flite';
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.tmpDir = options.tmpDir ?? tmpdir();
    this.chunkMs = options.chunkMs ?? 100;
  }

  async *synthesize(request: SynthesisRequest): AsyncIterable<Buffer> {
    if (request.ssml)
      throw new DomainError('NOT_AVAILABLE', 'the local flite engine does not speak SSML; send plain text');
    const voice = FLITE_VOICES.has(request.voice.name) ? request.voice.name : 'slt';
    const sentences = synthesisUnits(request.text);
    const chunkBytes = Math.round((request.sampleRate * this.chunkMs) / 1000) * 2;
    // Synthesis of sentence k+1 starts while sentence k is being consumed.
    let next = sentences.length > 0 ? this.sentence(sentences[0], voice, request) : undefined;
    for (let i = 0; i < sentences.length; i++) {
      const pcm = await next!;
      next = i + 1 < sentences.length ? this.sentence(sentences[i + 1], voice, request) : undefined;
      next?.catch(() => undefined); // surfaced when awaited
      for (let off = 0; off < pcm.length; off += chunkBytes) {
        if (request.signal?.aborted) return;
        yield pcm.subarray(off, Math.min(pcm.length, off + chunkBytes));
      }
    }
  }

  private async sentence(text: string, voice: string, request: SynthesisRequest): Promise<Buffer> {
    const file = join(this.tmpDir, `voxline-flite-${randomUUID()}.wav`);
    const args = ['-voice', voice, '-t', text, '-o', file];
    const rate = request.voice.rate ?? 1;
    if (rate > 0 && rate !== 1) args.push('--setf', `duration_stretch=${(1 / rate).toFixed(3)}`);
    try {
      await this.run(args, request.signal);
      const { pcm, sampleRate } = decodePcm16Mono(await readFile(file), FLITE_RATE);
      if (sampleRate === request.sampleRate) return pcm;
      return bufferView(await resampleAll(int16View(pcm), sampleRate, request.sampleRate));
    } finally {
      await rm(file, { force: true });
    }
  }

  private run(args: string[], signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new DomainError('TIMEOUT', 'synthesis aborted'));
      const child = spawn(this.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new DomainError('PROVIDER_TIMEOUT', `flite did not finish within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const onAbort = () => {
        child.kill('SIGKILL');
        reject(new DomainError('TIMEOUT', 'synthesis aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      child.once('error', (err: NodeJS.ErrnoException) => {
        done();
        reject(
          err.code === 'ENOENT'
            ? new DomainError(
                'PROVIDER_ERROR',
                `flite is not installed: apt-get install flite (${this.binary} not found)`,
              )
            : new DomainError('PROVIDER_ERROR', `flite failed to start: ${err.message}`),
        );
      });
      child.once('exit', (code, sig) => {
        done();
        if (code === 0) resolve();
        else reject(new DomainError('PROVIDER_ERROR', `flite exited with ${code ?? sig}: ${stderr.trim()}`));
      });
    });
  }
}
