import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { decodePcm16Mono, encodeWav } from '../../audio/wav';
import { loadConfig } from '../../config';
import { createRootLogger, fdDestination } from '../../logging/logger';
import { wordsToDigits } from '../../speech/numbers';
import type { ExpectedInput } from '../../speech/ports';
import { startSpeechEngines, type SpeechComponent } from '../../speech/speech.factory';
import { transcribePcm } from '../../speech/transcribe';

const GRAMMARS: readonly ExpectedInput[] = ['free', 'digits', 'yes_no', 'name'];

function positiveInt(name: string, value: string, allowed?: number[]): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${value}"`);
  if (allowed && !allowed.includes(n))
    throw new Error(`${name} must be one of ${allowed.join(', ')}, got ${n}`);
  return n;
}

/** The configured speech engines for one CLI command, logging to stderr. */
async function engines(components: SpeechComponent[]) {
  const config = loadConfig();
  const destination = fdDestination(2);
  const logger = createRootLogger(config, destination);
  const started = await startSpeechEngines(config, logger, components);
  const failed = components.map((c) => started.failures[c]).find(Boolean);
  if (failed) {
    await started.close();
    throw new Error(failed);
  }
  return { ...started, flushLogs: () => destination.flushSync() };
}

export function registerSpeechCommands(program: Command): void {
  program
    .command('transcribe')
    .description(
      'transcribe a WAV (PCM16 mono) or raw PCM16 mono file with the configured speech-to-text driver',
    )
    .argument('<file>', 'WAV file, or raw PCM16 little-endian mono')
    .option('--rate <hz>', 'sample rate of raw PCM input', '16000')
    .option('--grammar <kind>', `expected input: ${GRAMMARS.join(' | ')}`, 'free')
    .option('--json', 'print one JSON object with the text and timings')
    .action(async (file: string, opts: { rate: string; grammar: string; json?: boolean }) => {
      const rawRate = positiveInt('--rate', opts.rate);
      if (!GRAMMARS.includes(opts.grammar as ExpectedInput)) {
        throw new Error(`--grammar must be one of ${GRAMMARS.join(', ')}, got "${opts.grammar}"`);
      }
      const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
        throw new Error(`cannot read ${file}: ${err.code ?? err.message}`);
      });
      const { pcm, sampleRate } = decodePcm16Mono(bytes, rawRate);
      if (sampleRate !== 16000 && sampleRate !== 24000) {
        throw new Error(`${file}: ${sampleRate} Hz audio is not supported (16000 or 24000 Hz PCM16 mono)`);
      }
      const speech = await engines(['stt']);
      try {
        const result = await transcribePcm(speech.stt, pcm, {
          sampleRate,
          expected: opts.grammar as ExpectedInput,
        });
        const text = opts.grammar === 'digits' ? (wordsToDigits(result.text) ?? result.text) : result.text;
        process.stdout.write(
          opts.json
            ? `${JSON.stringify({ text, words: result.text, driver: speech.stt.driver, sampleRate, partials: result.partials, timings: result.timings })}\n`
            : `${text}\n`,
        );
      } finally {
        await speech.close();
        speech.flushLogs();
      }
    });

  program
    .command('speak')
    .description('synthesize text with the configured text-to-speech driver into a PCM16 mono WAV file')
    .argument('<text>', 'what to say')
    .requiredOption('-o, --out <file>', 'output WAV file')
    .option('--voice <alias>', 'voice alias from the catalogue (or an engine voice name)')
    .option('--rate <hz>', 'output sample rate: 16000 or 24000', '16000')
    .action(async (text: string, opts: { out: string; voice?: string; rate: string }) => {
      const sampleRate = positiveInt('--rate', opts.rate, [16000, 24000]) as 16000 | 24000;
      if (!text.trim()) throw new Error('nothing to say: the text is empty');
      const speech = await engines(['tts']);
      try {
        const voice = speech.voices.resolve(speech.voiceEngine, opts.voice);
        const chunks: Buffer[] = [];
        for await (const chunk of speech.tts.synthesize({ text, voice, sampleRate }))
          chunks.push(Buffer.from(chunk));
        await writeFile(opts.out, encodeWav(Buffer.concat(chunks), sampleRate));
      } finally {
        await speech.close();
        speech.flushLogs();
      }
    });
}
