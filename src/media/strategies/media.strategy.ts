import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppConfig } from '../../config';
import { DomainError } from '../../common/errors';
import type { AgentSpec } from '../../llm/agents/agent.types';
import { CallControl } from '../../llm/call-control.port';
import type { LlmEngine } from '../../llm/llm.factory';
import { LLM_ENGINE } from '../../llm/llm.module';
import { ROOT_LOGGER } from '../../logging/root-logger.token';
import { SessionWriteQueue } from '../../session/session-write-queue';
import { SPEECH_ENGINES } from '../../speech/speech.module';
import type { SpeechEngines } from '../../speech/speech.factory';
import type { VoiceSpec } from '../../speech/ports';
import { MediaCascade } from '../cascade/media-cascade';
import { PHRASES, PhraseCache } from '../cascade/phrases';
import { StreamingModeStrategy, type MediaCallHandler, type MediaConnection } from '../media-call';
import { systemClock } from '../pipeline/clock';
import { SharedPacer } from '../pipeline/pacer';
import { MediaStats } from '../media-stats';
import { TurnMetricsRecorder } from '../turn-metrics';

const PREWARM_TIMEOUT_MS = 30_000;

/** MEDIA mode: the cascade VAD → STT → agent → TTS → paced playout, on the configured engines. */
@Injectable()
export class MediaStrategy extends StreamingModeStrategy implements OnApplicationBootstrap, OnModuleDestroy {
  readonly mode = 'media' as const;
  readonly phrases = new PhraseCache();
  /** One pacing timer for the playouts of all calls (instead of a timer per call per frame). */
  readonly pacer: SharedPacer;
  private readonly log: Logger;

  constructor(
    private readonly config: AppConfig,
    @Inject(SPEECH_ENGINES) private readonly speech: SpeechEngines,
    @Inject(LLM_ENGINE) private readonly llm: LlmEngine,
    private readonly callControl: CallControl,
    private readonly writer: SessionWriteQueue,
    private readonly turnMetrics: TurnMetricsRecorder,
    private readonly mediaStats: MediaStats,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    super();
    this.log = root.child({ module: 'media' });
    this.pacer = new SharedPacer(systemClock, (err) =>
      this.log.error({ err }, 'a playout pacing callback threw'),
    );
  }

  onModuleDestroy(): void {
    this.pacer.close();
  }

  /** Synthesizes the default greeting and the cascade's phrases in the background (greeting_ttfb ≈ 0). */
  onApplicationBootstrap(): void {
    void this.prewarm();
  }

  async prewarm(): Promise<number> {
    if (Object.keys(this.speech.failures).length > 0) return 0;
    const rate = this.config.media.audioFormat === 'pcm24KMono' ? 24000 : 16000;
    const scenario = this.llm.scenario();
    const start = scenario.agents.get(scenario.scenario.startAgent);
    const voice = this.voiceFor(start?.voice);
    const texts = [...(start ? [start.greeting] : []), ...Object.values(PHRASES)];
    let cached = 0;
    const started = performance.now();
    for (const text of texts) {
      const key = this.phrases.key(text, voice, rate);
      if (this.phrases.get(key)) continue;
      try {
        const parts: Buffer[] = [];
        for await (const pcm of this.speech.tts.synthesize({
          text,
          voice,
          sampleRate: rate,
          signal: AbortSignal.timeout(PREWARM_TIMEOUT_MS),
        }))
          parts.push(pcm);
        this.phrases.set(key, Buffer.concat(parts));
        cached++;
      } catch (err) {
        this.log.warn({ err }, 'could not pre-synthesize a greeting or phrase: it is synthesized per call');
        break;
      }
    }
    this.log.info({ cached, ms: Math.round(performance.now() - started) }, 'greeting and phrases cached');
    return cached;
  }

  private voiceFor(voice: AgentSpec['voice'] | undefined): VoiceSpec {
    const spec = this.speech.voices.resolve(this.speech.voiceEngine, voice?.alias);
    return {
      ...spec,
      ...(voice?.style ? { style: voice.style } : {}),
      ...(voice?.rate ? { rate: voice.rate } : {}),
    };
  }

  async start(connection: MediaConnection): Promise<MediaCallHandler> {
    const failed = Object.keys(this.speech.failures);
    if (failed.length > 0) {
      throw new DomainError('NOT_AVAILABLE', `speech engines not available: ${failed.join(', ')}`);
    }
    const scenarioName =
      typeof connection.settings.scenario === 'string' ? connection.settings.scenario : undefined;
    const scenario = this.llm.scenario(scenarioName);
    return new MediaCascade({
      connection,
      config: this.config.media,
      transferTarget: this.config.acs.transferTarget,
      stt: this.speech.stt,
      tts: this.speech.tts,
      vad: this.speech.vad,
      voiceFor: (voice) => this.voiceFor(voice),
      orchestrator: (held) => this.llm.orchestrator(held, this.writer),
      callControl: this.callControl,
      scenario,
      writer: this.writer,
      clock: systemClock,
      phrases: this.phrases,
      observeTurn: this.turnMetrics.observe,
      onPacing: this.mediaStats.pacing.record,
      pacer: this.pacer,
    });
  }
}
