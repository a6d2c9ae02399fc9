import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { int16View } from '../../audio/pcm';
import { resampleAll } from '../../audio/resampler';
import { decodePcm16Mono, encodeWav } from '../../audio/wav';
import { loadConfig } from '../../config';
import { createRootLogger, fdDestination } from '../../logging/logger';
import { startSpeechEngines } from '../../speech/speech.factory';
import { buildReport, summarize, type CallerSource } from '../../sim/report';
import { apiBaseFromMediaUrl, fetchSettledSession } from '../../sim/session-api';
import {
  prepareUtterance,
  SimulatedCaller,
  type PreparedUtterance,
  type SimSampleRate,
} from '../../sim/simulated-caller';

interface SimulateOptions {
  url: string;
  api?: string;
  out?: string;
  json?: boolean;
  bargeInAfterMs?: string;
  callId?: string;
  sampleRate: string;
  timeoutMs: string;
  silenceMs: string;
  voice?: string;
  token?: string;
  apiKey?: string;
}

function nonNegativeInt(name: string, value: string, allowed?: number[]): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`${name} must be a non-negative integer, got "${value}"`);
  if (allowed && !allowed.includes(n))
    throw new Error(`${name} must be one of ${allowed.join(', ')}, got ${n}`);
  return n;
}

/** Caller turns from a WAV / raw PCM16 16 kHz file, or rendered from text with the configured TTS. */
async function loadUtterances(
  sources: CallerSource[],
  sampleRate: SimSampleRate,
  voiceAlias: string | undefined,
  logger: Logger,
): Promise<PreparedUtterance[]> {
  const texts = sources.filter((s) => s.source === 'text');
  const speech = texts.length
    ? await startSpeechEngines(loadConfig(), logger, ['tts']).then(async (started) => {
        if (started.failures.tts) {
          await started.close();
          throw new Error(started.failures.tts);
        }
        return started;
      })
    : undefined;
  try {
    const out: PreparedUtterance[] = [];
    for (const s of sources) {
      let pcm: Int16Array;
      if (s.source === 'file') {
        const bytes = await readFile(s.file!).catch((err: NodeJS.ErrnoException) => {
          throw new Error(`cannot read ${s.file}: ${err.code ?? err.message}`);
        });
        const audio = decodePcm16Mono(bytes, 16000);
        pcm = int16View(audio.pcm);
        if (audio.sampleRate !== sampleRate) pcm = await resampleAll(pcm, audio.sampleRate, sampleRate);
      } else {
        const voice = speech!.voices.resolve(speech!.voiceEngine, voiceAlias);
        const chunks: Buffer[] = [];
        for await (const chunk of speech!.tts.synthesize({
          text: s.text!,
          voice,
          sampleRate,
          signal: AbortSignal.timeout(30_000),
        }))
          chunks.push(Buffer.from(chunk));
        pcm = int16View(Buffer.concat(chunks));
      }
      if (pcm.length === 0) throw new Error(`turn ${out.length}: no audio in ${s.file ?? `"${s.text}"`}`);
      out.push(prepareUtterance(pcm, sampleRate));
    }
    return out;
  } finally {
    await speech?.close();
  }
}

export function registerSimulateCallCommand(program: Command): void {
  // Commander calls each option's parser in command-line order: one list keeps --turn / --text order.
  const sources: CallerSource[] = [];
  program
    .command('simulate-call')
    .description(
      'act as ACS against a running service: stream caller turns over the media WebSocket in real time, ' +
        'record the agent, and report what was said and the latencies measured on the client side',
    )
    .option('--url <ws-url>', 'media WebSocket URL', 'ws://localhost:8080/api/v1/media/stream')
    .option('--api <http-url>', 'HTTP base of the service (default: from --url, ws → http, no path)')
    .option(
      '--turn <file>',
      'caller turn from a WAV or raw PCM16 16 kHz mono file (repeatable)',
      (file: string) => {
        sources.push({ source: 'file', file });
        return file;
      },
    )
    .option('--text <text>', 'caller turn rendered with the configured TTS (repeatable)', (text: string) => {
      if (!text.trim()) throw new Error('--text needs something to say');
      sources.push({ source: 'text', text });
      return text;
    })
    .option('--out <file>', 'write what the caller heard from the agent to a PCM16 mono WAV')
    .option('--json', 'print the JSON report on stdout')
    .option(
      '--barge-in-after-ms <ms>',
      'speak each turn this long after the agent started answering instead of waiting for it to finish',
    )
    .option('--call-id <id>', 'call connection id (default: local-sim-<random>: no wait for call control)')
    .option('--sample-rate <hz>', 'call audio rate: 16000 or 24000', '16000')
    .option('--timeout-ms <ms>', 'longest wait for the agent at each step', '30000')
    .option('--silence-ms <ms>', 'how long the agent must be quiet before the next caller turn', '1000')
    .option('--voice <alias>', 'voice of --text turns (voice alias or engine voice name)')
    .option('--token <jwt>', 'bearer token for the media upgrade (services with ACS_AUDIENCE set)')
    .option('--api-key <key>', 'bearer key for the session API (services with ADMIN_API_KEY set)')
    .action(async (opts: SimulateOptions) => {
      const sampleRate = nonNegativeInt('--sample-rate', opts.sampleRate, [16000, 24000]) as SimSampleRate;
      const timeoutMs = nonNegativeInt('--timeout-ms', opts.timeoutMs);
      const silenceMs = nonNegativeInt('--silence-ms', opts.silenceMs);
      const bargeInAfterMs =
        opts.bargeInAfterMs === undefined
          ? undefined
          : nonNegativeInt('--barge-in-after-ms', opts.bargeInAfterMs);
      const api = opts.api ?? apiBaseFromMediaUrl(opts.url);
      const callConnectionId = opts.callId ?? `local-sim-${randomUUID().slice(0, 8)}`;

      const config = loadConfig();
      const destination = fdDestination(2);
      const logger = createRootLogger(config, destination).child({
        module: 'simulate-call',
        callConnectionId,
      });
      try {
        const utterances = await loadUtterances(sources, sampleRate, opts.voice, logger);
        const caller = await SimulatedCaller.connect(opts.url, {
          callConnectionId,
          sampleRate,
          headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
          connectTimeoutMs: Math.min(timeoutMs, 10_000),
        });
        try {
          caller.sendMetadata();
          logger.info({ url: opts.url, turns: utterances.length }, 'call started');
          if (bargeInAfterMs === undefined || utterances.length === 0) {
            const greeting = await caller.waitForAgent({ quietMs: silenceMs, timeoutMs });
            if (!greeting.replied) logger.warn(`no greeting within ${timeoutMs} ms`);
          }
          for (const [i, utterance] of utterances.entries()) {
            if (caller.closed) break;
            logger.info({ turn: i, audioMs: Math.round(utterance.audioMs) }, 'caller turn');
            await caller.speak(
              utterance,
              bargeInAfterMs === undefined ? {} : { bargeInAfterMs, bargeInWaitTimeoutMs: timeoutMs },
            );
            const last = i === utterances.length - 1;
            if (bargeInAfterMs === undefined || last) {
              const reply = await caller.waitForAgent({ quietMs: silenceMs, timeoutMs });
              if (!reply.replied && !reply.closed)
                logger.warn({ turn: i }, `no agent reply within ${timeoutMs} ms`);
            }
          }
        } finally {
          await caller.close();
        }
        const closedByService = caller.closed?.byService ? caller.closed : undefined;
        if (closedByService && closedByService.code !== 1000)
          throw new Error(
            `the service closed the media socket with ${closedByService.code}${closedByService.reason ? ` (${closedByService.reason})` : ''}`,
          );

        const session = await fetchSettledSession(api, callConnectionId, { apiKey: opts.apiKey });
        if (!session) logger.warn(`no session found for call ${callConnectionId} at ${api}`);
        if (opts.out) await writeFile(opts.out, encodeWav(caller.agentAudio({ timeline: true }), sampleRate));
        const report = buildReport({
          callConnectionId,
          sampleRate,
          sources,
          turns: caller.turns,
          greeting: caller.greeting,
          session,
          agentAudioFile: opts.out,
          closedByService: closedByService && { code: closedByService.code, reason: closedByService.reason },
        });
        process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : `${summarize(report)}\n`);
      } finally {
        destination.flushSync();
      }
    });
}
