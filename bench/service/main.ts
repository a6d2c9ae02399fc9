import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { getHeapStatistics } from 'node:v8';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MODULE_METADATA } from '@nestjs/common/constants';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';
import { createApp } from '../../src/app.factory';
import { loadConfig, type AppConfig } from '../../src/config';
import { createRootLogger, fdDestination } from '../../src/logging/logger';
import { createLlm, type LlmEngine } from '../../src/llm/llm.factory';
import { LLM_ENGINE, LlmModule } from '../../src/llm/llm.module';
import { Orchestrator } from '../../src/llm/orchestrator';
import { MediaStats } from '../../src/media/media-stats';
import { systemClock } from '../../src/media/pipeline/clock';
import { TurnMetricsRecorder } from '../../src/media/turn-metrics';
import { TURN_METRIC_NAMES, type TurnMetrics } from '../../src/session/session.types';
import { DEFAULT_VOICES_FILE, type SpeechEngines } from '../../src/speech/speech.factory';
import { SPEECH_ENGINES, SpeechModule } from '../../src/speech/speech.module';
import {
  SpeechToText,
  type SttSession,
  type SttSessionOptions,
  type VoiceActivityDetector,
} from '../../src/speech/ports';
import { int16View } from '../../src/audio/pcm';
import { SileroVad } from '../../src/speech/vad/silero-vad';
import { WebRtcVad } from '../../src/speech/vad/webrtc-vad';
import { VoiceCatalogue } from '../../src/speech/voice-catalogue';
import { Telemetry } from '../../src/telemetry/telemetry';
import { FakeChatModel, FakeStt, FakeTts, type FakeSttSession } from '../../test/fakes/pipeline-fakes';
import { GcPauses } from '../lib/gc-pauses';
import { AllocationProfile, GcProfile } from '../lib/gc-profile';
import { numberFlag, parseFlags, serveIpc } from '../lib/ipc';

/**
 * The bench service: the whole voxline app (real Nest app, media gateway, MEDIA cascade, real VAD) on
 * 127.0.0.1:0, started by a scenario (bench/lib/ipc.ts) and usually pinned to one CPU. It prints
 * `{"port":N}` on stdout and answers stats requests over the IPC channel.
 *
 *   --engines fake   fake STT / TTS / LLM at the port boundary with realistic latencies (default)
 *   --engines config the drivers the configuration selects (sdk: Azure drivers against local fakes;
 *                    local: the embedded engines)
 *   --llm config     with --engines fake: fake speech, the configured chat model driver
 *   --vad silero|webrtc, --stt-final-ms 150, --llm-ttft-ms 300, --llm-tps 30, --tts-first-ms 80,
 *   --tts-speed 4, --tts-ms-per-char 60, --tts-chunk-ms 200
 *
 * Settings beyond these come from the environment the scenario gives the process (no .env file).
 */

const flags = parseFlags(process.argv.slice(2));
const engines = flags.engines ?? 'fake';
const vadDriver = flags.vad === 'webrtc' ? 'webrtc' : 'silero';
/** `--llm config`: fake speech but the configured chat model driver (the sdk scenario's openai ↔ SSE fake). */
const llmFromConfig = flags.llm === 'config';

/** What the fake STT "hears" and what the fake model answers (two sentences, ~5 s of fake TTS audio). */
const CALLER_TEXT = [
  'I would like to report a claim',
  'my car was hit in a parking lot',
  'yes that is right',
];
const AGENT_TEXT = [
  'Thanks, I have noted that. What happened next?',
  'I understand. Anything else I should add?',
];

/**
 * FakeStt sends finals only. A streaming recogniser also sends partials while the caller speaks, and the
 * cascade needs one to confirm a barge-in (without words it resumes after BARGE_IN_FALSE_TIMEOUT_MS). This
 * wrapper emits the first words of the coming transcript after `--stt-partial-ms` worth of loud frames
 * (counted since the last endUtterance), then a word more every 200 ms of loud frames (peak ≥ 1000 on every 8th sample, like FakeVad).
 */
const PARTIAL_EVERY_FRAMES = 10;

class PartialsStt extends SpeechToText {
  readonly driver = 'fake';
  constructor(
    private readonly inner: FakeStt,
    private readonly partialAfterFrames: number,
  ) {
    super();
  }
  async open(options: SttSessionOptions): Promise<SttSession> {
    const session = (await this.inner.open(options)) as FakeSttSession;
    let loud = 0;
    return {
      write: (frame) => {
        session.write();
        const samples = int16View(frame);
        let peak = 0;
        for (let i = 0; i < samples.length; i += 8) peak = Math.max(peak, Math.abs(samples[i]));
        if (peak < 1000) return;
        loud++;
        const since = loud - this.partialAfterFrames;
        if (since >= 0 && since % PARTIAL_EVERY_FRAMES === 0) {
          const words = CALLER_TEXT[session.endUtterances % CALLER_TEXT.length].split(' ');
          const n = Math.min(words.length, 2 + since / PARTIAL_EVERY_FRAMES);
          session.emit({ type: 'partial', text: words.slice(0, n).join(' ') });
        }
      },
      speechStarted: (agoMs) => session.speechStarted(agoMs),
      endUtterance: () => {
        loud = 0;
        session.endUtterance();
      },
      setExpectedInput: (e) => session.setExpectedInput(e),
      onEvent: (l) => session.onEvent(l),
      close: () => session.close(),
    };
  }
}

/** Replaces one provider of a Nest module before the app is built (bench only; see the report). */
function overrideProvider(module: object, token: symbol, useFactory: () => unknown): void {
  const providers = (Reflect.getMetadata(MODULE_METADATA.PROVIDERS, module) ?? []) as unknown[];
  const replaced = providers.map((p) =>
    typeof p === 'object' && p !== null && (p as { provide?: unknown }).provide === token
      ? { provide: token, useFactory }
      : p,
  );
  Reflect.defineMetadata(MODULE_METADATA.PROVIDERS, replaced, module);
}

interface Fakes {
  stt: FakeStt;
  tts: FakeTts;
  model: FakeChatModel;
}

/**
 * The RSS split as Linux reports it: anonymous pages (heaps, malloc arenas, WASM memories) and pages of
 * mapped files (code of the binary and native libraries, touched as they run). Undefined elsewhere.
 */
function rssKinds(): { rss_anon_mb?: number; rss_file_mb?: number } {
  let status: string;
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return {};
  }
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) / 1024 : undefined;
  };
  return { rss_anon_mb: kb('RssAnon'), rss_file_mb: kb('RssFile') };
}

async function fakeSpeech(config: AppConfig, fakes: Fakes): Promise<SpeechEngines> {
  let vad: VoiceActivityDetector;
  if (vadDriver === 'webrtc') {
    const webrtc = new WebRtcVad();
    await webrtc.init();
    vad = webrtc;
  } else {
    const silero = new SileroVad(undefined, {
      batchMs: config.speech.vadBatchMs,
      thread: config.speech.sileroThread,
      onsetLookbackMs: config.speech.sileroOnsetLookbackMs,
      onThreadFailure: (reason) => process.stderr.write(`Silero VAD worker failed: ${reason}\n`),
    });
    await silero.start();
    vad = silero;
  }
  return {
    stt: new PartialsStt(fakes.stt, Math.round(numberFlag(flags, 'stt-partial-ms', 300) / 20)),
    tts: fakes.tts,
    vad,
    voices: VoiceCatalogue.fromFile(config.speech.voicesFile ?? DEFAULT_VOICES_FILE),
    voiceEngine: 'local',
    pools: [],
    failures: {},
    async close() {
      if (vad instanceof SileroVad) await vad.dispose();
    },
  };
}

function fakeLlm(config: AppConfig, logger: Logger, model: FakeChatModel): LlmEngine {
  const real = createLlm(config, logger);
  return {
    ...real,
    model,
    limiter: undefined,
    orchestrator: (callControl, writer) =>
      new Orchestrator({
        model,
        tools: real.tools,
        callControl,
        writer,
        maxToolSteps: config.llm.maxToolSteps,
        logger: logger.child({ module: 'orchestrator' }),
      }),
  };
}

/** Turn metrics observed since the last reset (one array per metric name). */
class TurnCollector {
  values: Record<string, number[]> = {};
  turns = 0;
  /** greeting_ttfb_ms of every call since the last drain (calls start outside measurement windows). */
  greetings: number[] = [];
  constructor() {
    this.reset();
  }
  reset(): void {
    this.values = Object.fromEntries(TURN_METRIC_NAMES.map((n) => [n, [] as number[]]));
    this.turns = 0;
  }
  readonly observe = (m: TurnMetrics): void => {
    if (typeof m.greeting_ttfb_ms === 'number') this.greetings.push(m.greeting_ttfb_ms);
    this.turns++;
    for (const name of TURN_METRIC_NAMES) {
      const v = m[name];
      if (typeof v === 'number') this.values[name].push(v);
    }
  };
}

function handleCounts(): { total: number; byType: Record<string, number> } {
  const byType: Record<string, number> = {};
  const info = process.getActiveResourcesInfo();
  for (const t of info) byType[t] = (byType[t] ?? 0) + 1;
  return { total: info.length, byType };
}

const MB = 1024 * 1024;

async function main(): Promise<void> {
  const config = loadConfig(
    {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      MAX_CONCURRENT_CALLS: process.env.MAX_CONCURRENT_CALLS ?? '5000',
      VAD_DRIVER: vadDriver,
    },
    { envFile: false },
  );
  const telemetry = Telemetry.start(config);
  const logger = createRootLogger(config, fdDestination(2), { instance: 'bench' });

  let fakes: Fakes | undefined;
  if (engines === 'fake') {
    const clock = systemClock;
    fakes = {
      stt: new FakeStt({
        clock,
        finalDelayMs: numberFlag(flags, 'stt-final-ms', 150),
        transcripts: (n) => CALLER_TEXT[n % CALLER_TEXT.length],
      }),
      tts: new FakeTts({
        clock,
        firstChunkMs: numberFlag(flags, 'tts-first-ms', 80),
        speed: numberFlag(flags, 'tts-speed', 4),
        msPerChar: numberFlag(flags, 'tts-ms-per-char', 60),
        chunkMs: numberFlag(flags, 'tts-chunk-ms', 200),
      }),
      model: new FakeChatModel({
        clock,
        ttftMs: numberFlag(flags, 'llm-ttft-ms', 300),
        tokensPerSecond: numberFlag(flags, 'llm-tps', 30),
        reply: (n) => ({ text: AGENT_TEXT[n % AGENT_TEXT.length] }),
      }),
    };
    const f = fakes;
    overrideProvider(SpeechModule, SPEECH_ENGINES, () => fakeSpeech(config, f));
    if (!llmFromConfig) overrideProvider(LlmModule, LLM_ENGINE, () => fakeLlm(config, logger, f.model));
  }

  const app: NestFastifyApplication = await createApp({ config, telemetry, logger });
  const collector = new TurnCollector();
  // MediaStrategy reads `observe` per call, so wrapping it after boot sees every turn.
  const recorder = app.get(TurnMetricsRecorder);
  const original = recorder.observe;
  (recorder as { observe: (m: TurnMetrics) => void }).observe = (m) => {
    original(m);
    collector.observe(m);
  };
  const speech = app.get<SpeechEngines>(SPEECH_ENGINES);
  const mediaStats = app.get(MediaStats);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.getHttpServer().address() as AddressInfo;

  // The fakes record every session / request for tests; a benchmark keeps only what is still open.
  const prune = fakes
    ? setInterval(() => {
        const f = fakes!;
        const open = f.stt.sessions.filter((s) => !s.closed);
        f.stt.sessions.length = 0;
        f.stt.sessions.push(...open);
        f.tts.requests.length = 0;
        f.model.calls.length = 0;
      }, 2000).unref()
    : undefined;

  // The histogram holds whole timer intervals (resolution included): lag = sample − resolution.
  const LAG_RESOLUTION_MS = 10;
  const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  const lagMs = (ns: number) => Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS);
  lag.enable();
  const gcPauses = new GcPauses();
  // Allocation / promotion per window (GCProfiler), and with --alloc-profile DIR a sampling allocation
  // profile of each window written there.
  const gcProfile = new GcProfile();
  const allocProfile = flags['alloc-profile'] ? new AllocationProfile(flags['alloc-profile']) : undefined;
  let since = performance.now();
  let cpu = process.cpuUsage();
  const reset = () => {
    lag.reset();
    gcPauses.reset();
    gcProfile.start();
    allocProfile?.start();
    since = performance.now();
    cpu = process.cpuUsage();
    collector.reset();
    mediaStats.pacing.resetWindow();
    vadBase = vadStats();
    if (speech.vad instanceof SileroVad) speech.vad.delay.reset();
  };
  const memory = () => {
    const m = process.memoryUsage();
    return {
      rss_mb: m.rss / MB,
      heap_used_mb: m.heapUsed / MB,
      heap_total_mb: m.heapTotal / MB,
      external_mb: m.external / MB,
      array_buffers_mb: m.arrayBuffers / MB,
      // V8's own malloc'd memory outside the heap (compiler zones and the like).
      malloced_mb: getHeapStatistics().malloced_memory / MB,
      ...rssKinds(),
    };
  };
  const pools = () => speech.pools.map((p) => p.stats());
  const vadStats = () => (speech.vad instanceof SileroVad ? { ...speech.vad.stats } : undefined);
  let vadBase = vadStats();
  const stats = async () => {
    const gcSummary = gcProfile.snapshot();
    const allocFile = await allocProfile?.stop();
    const v = vadStats();
    const d = process.cpuUsage(cpu);
    return {
      elapsed_ms: performance.now() - since,
      cpu_ms: (d.user + d.system) / 1000,
      lag_ms: {
        p50: lagMs(lag.percentile(50)),
        p99: lagMs(lag.percentile(99)),
        max: lagMs(lag.max),
        mean: lagMs(lag.mean),
        count: lag.count,
      },
      gc_pauses: gcPauses.snapshot(),
      gc: gcSummary,
      alloc_profile: allocFile,
      memory: memory(),
      handles: handleCounts(),
      media_sockets: mediaStats.sockets,
      pacing_late_ms: {
        p50: mediaStats.pacing.percentile(50),
        p99: mediaStats.pacing.percentile(99),
        max: mediaStats.pacing.maxMs,
        count: mediaStats.pacing.count,
      },
      /** Silero batching in the window: windows per inference run. */
      vad_windows_per_run:
        v && vadBase && v.runs > vadBase.runs
          ? (v.windows - vadBase.windows) / (v.runs - vadBase.runs)
          : undefined,
      vad_delay_ms:
        speech.vad instanceof SileroVad
          ? {
              p50: speech.vad.delay.percentile(50),
              p99: speech.vad.delay.percentile(99),
              max: speech.vad.delay.max,
              count: speech.vad.delay.count,
            }
          : undefined,
      turns: collector.turns,
      turn_metrics: collector.values,
      pools: pools(),
      fake_stt_open_sessions: fakes?.stt.openSessions,
    };
  };
  const gc = (globalThis as { gc?: () => void }).gc;

  const close = async () => {
    lag.disable();
    gcPauses.stop();
    if (prune) clearInterval(prune);
    await Promise.race([app.close(), new Promise((r) => setTimeout(r, 5000).unref())]);
    await Promise.race([telemetry.shutdown(), new Promise((r) => setTimeout(r, 2000).unref())]);
  };
  serveIpc(
    {
      reset: () => {
        reset();
        return true;
      },
      stats,
      /** greeting_ttfb_ms of the calls that started since the last request. */
      greetings: () => collector.greetings.splice(0),
      /** Memory and handles after forced full GCs (needs --expose-gc). */
      gc: async () => {
        if (!gc) throw new Error('start the service with --expose-gc');
        for (let i = 0; i < 3; i++) {
          gc();
          await new Promise((r) => setImmediate(r));
        }
        return {
          memory: memory(),
          handles: handleCounts(),
          media_sockets: mediaStats.sockets,
          pools: pools(),
        };
      },
    },
    close,
  );
  process.stdout.write(`${JSON.stringify({ port, engines, vad: vadDriver, pid: process.pid })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench service: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
