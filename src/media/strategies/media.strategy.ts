import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../../config';
import { DomainError } from '../../common/errors';
import type { AgentSpec } from '../../llm/agents/agent.types';
import { CallControl } from '../../llm/call-control.port';
import type { LlmEngine } from '../../llm/llm.factory';
import { LLM_ENGINE } from '../../llm/llm.module';
import { SessionWriteQueue } from '../../session/session-write-queue';
import { SPEECH_ENGINES } from '../../speech/speech.module';
import type { SpeechEngines } from '../../speech/speech.factory';
import type { VoiceSpec } from '../../speech/ports';
import { GreetingCache, MediaCascade } from '../cascade/media-cascade';
import { StreamingModeStrategy, type MediaCallHandler, type MediaConnection } from '../media-call';
import { systemClock } from '../pipeline/clock';

/** MEDIA mode: the cascade VAD → STT → agent → TTS → paced playout, on the configured engines. */
@Injectable()
export class MediaStrategy extends StreamingModeStrategy {
  readonly mode = 'media' as const;
  private readonly greetings = new GreetingCache();

  constructor(
    private readonly config: AppConfig,
    @Inject(SPEECH_ENGINES) private readonly speech: SpeechEngines,
    @Inject(LLM_ENGINE) private readonly llm: LlmEngine,
    private readonly callControl: CallControl,
    private readonly writer: SessionWriteQueue,
  ) {
    super();
  }

  async start(connection: MediaConnection): Promise<MediaCallHandler> {
    const failed = Object.keys(this.speech.failures);
    if (failed.length > 0) {
      throw new DomainError('NOT_AVAILABLE', `speech engines not available: ${failed.join(', ')}`);
    }
    const scenarioName =
      typeof connection.settings.scenario === 'string' ? connection.settings.scenario : undefined;
    const scenario = this.llm.scenario(scenarioName);
    const { voices, voiceEngine } = this.speech;
    return new MediaCascade({
      connection,
      config: this.config.media,
      stt: this.speech.stt,
      tts: this.speech.tts,
      vad: this.speech.vad,
      voiceFor: (voice: AgentSpec['voice'] | undefined): VoiceSpec => {
        const spec = voices.resolve(voiceEngine, voice?.alias);
        return {
          ...spec,
          ...(voice?.style ? { style: voice.style } : {}),
          ...(voice?.rate ? { rate: voice.rate } : {}),
        };
      },
      orchestrator: this.llm.orchestrator(this.callControl, this.writer),
      scenario,
      writer: this.writer,
      clock: systemClock,
      greetings: this.greetings,
    });
  }
}
