import {
  Controller,
  Get,
  Global,
  Inject,
  Injectable,
  Module,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Logger } from 'pino';
import { AppConfig } from '../config';
import { ReadinessRegistry } from '../health/readiness.registry';
import { ROOT_LOGGER } from '../logging/root-logger.token';
import { SileroVad } from './vad/silero-vad';
import { SpeechToText, TextToSpeech, VoiceActivityDetector } from './ports';
import { startSpeechEngines, type SpeechEngines } from './speech.factory';
import { VoiceCatalogue } from './voice-catalogue';

/** DI token of the started engines (drivers, pools, start-up failures). */
export const SPEECH_ENGINES = Symbol('SPEECH_ENGINES');

@Injectable()
export class SpeechLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(SPEECH_ENGINES) private readonly engines: SpeechEngines,
    private readonly readiness: ReadinessRegistry,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    const { failures } = this.engines;
    const drivers: Record<string, string> = {
      stt: this.config.speech.sttDriver,
      tts: this.config.speech.ttsDriver,
      vad: this.config.speech.vadDriver,
    };
    // A selected driver that failed to start means this replica cannot carry a call.
    for (const component of ['stt', 'tts', 'vad'] as const) {
      this.readiness.register(`speech.${component}`, () =>
        failures[component]
          ? {
              state: 'down',
              critical: true,
              details: { driver: drivers[component], error: failures[component] },
            }
          : { state: 'up', critical: true, details: { driver: drivers[component] } },
      );
    }
    const vad = this.engines.vad;
    if (vad instanceof SileroVad) {
      // Inference moved to the event loop (the worker failed): calls go on, pacing has less margin.
      this.readiness.register('speech.vad.inference', () => ({
        state: vad.runsOn === this.config.speech.sileroThread ? 'up' : 'degraded',
        critical: false,
        details: { runsOn: vad.runsOn, configured: this.config.speech.sileroThread, ...vad.stats },
      }));
    }
    for (const pool of this.engines.pools) {
      this.readiness.register(`pool.${pool.name}`, () => {
        const s = pool.stats();
        // A pool with every resource busy and callers waiting is saturated, not broken.
        return {
          state: s.waiting > 0 && s.inUse >= s.max ? 'degraded' : 'up',
          critical: false,
          details: { ...s },
        };
      });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.engines.close();
  }
}

@ApiTags('speech')
@ApiBearerAuth()
@Controller('api/v1/pools')
export class PoolsController {
  constructor(@Inject(SPEECH_ENGINES) private readonly engines: SpeechEngines) {}

  @Get()
  @ApiOperation({
    summary: 'Engine pools of this replica: capacity, in use, idle, waiting, created, acquire wait times.',
  })
  @ApiOkResponse({
    schema: {
      example: {
        pools: [
          {
            name: 'pocketsphinx',
            max: 4,
            inUse: 1,
            idle: 1,
            creating: 0,
            waiting: 0,
            created: 2,
            destroyed: 0,
            createFailures: 0,
            acquireWaitMs: { count: 12, p50: 0, p99: 3, max: 3 },
          },
        ],
      },
    },
  })
  list() {
    return { pools: this.engines.pools.map((p) => p.stats()) };
  }
}

@Global()
@Module({
  controllers: [PoolsController],
  providers: [
    {
      provide: SPEECH_ENGINES,
      inject: [AppConfig, ROOT_LOGGER],
      useFactory: (config: AppConfig, logger: Logger) => startSpeechEngines(config, logger),
    },
    { provide: SpeechToText, inject: [SPEECH_ENGINES], useFactory: (e: SpeechEngines) => e.stt },
    { provide: TextToSpeech, inject: [SPEECH_ENGINES], useFactory: (e: SpeechEngines) => e.tts },
    { provide: VoiceActivityDetector, inject: [SPEECH_ENGINES], useFactory: (e: SpeechEngines) => e.vad },
    { provide: VoiceCatalogue, inject: [SPEECH_ENGINES], useFactory: (e: SpeechEngines) => e.voices },
    SpeechLifecycle,
  ],
  exports: [SPEECH_ENGINES, SpeechToText, TextToSpeech, VoiceActivityDetector, VoiceCatalogue],
})
export class SpeechModule {}
