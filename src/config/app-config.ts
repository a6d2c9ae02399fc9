import { maskedSettings } from './mask';
import type {
  LlmDriver,
  LogLevel,
  MediaAudioFormat,
  MediaFailurePolicy,
  SileroThreadSetting,
  SpeechDriver,
  StreamingMode,
  VadDriver,
} from './env.schema';

/**
 * The validated, typed configuration. It is also the DI token (see ConfigModule), so services inject
 * `AppConfig` and never read the environment.
 */
export class AppConfig {
  constructor(init: Omit<AppConfig, 'toJSON'>) {
    Object.assign(this, init);
  }

  readonly server!: {
    port: number;
    host: string;
    publicBaseUrl?: string;
    adminApiKey?: string;
    shutdownDrainSeconds: number;
    maxConcurrentCalls: number;
    readyGraceSeconds: number;
  };
  readonly log!: { level: LogLevel; transcripts: boolean };
  readonly telemetry!: { serviceName: string; otlpEndpoint?: string };
  readonly session!: {
    redisUrl?: string;
    ttlSeconds: number;
    commandTimeoutMs: number;
    writeQueueMax: number;
  };
  readonly media!: {
    streamingMode: StreamingMode;
    audioFormat: MediaAudioFormat;
    idleTimeoutMs: number;
    maxFrameBytes: number;
    endpointingMs: number;
    sttFinalWaitMs: number;
    bargeInMinMs: number;
    falseInterruptionMs: number;
    playoutLeadMs: number;
    /** Lower-case phrases that never interrupt the agent. */
    backchannels: string[];
    silenceRepromptMs: number;
    maxReprompts: number;
    maxProviderFailures: number;
    /** A reply without progress for this long is abandoned (playout watchdog). */
    watchdogMs: number;
  };
  readonly speech!: {
    sttDriver: SpeechDriver;
    ttsDriver: SpeechDriver;
    vadDriver: VadDriver;
    /** Silero: how long a window waits to share one inference with other calls (ms). */
    vadBatchMs: number;
    /** Silero: batched inference in a worker thread or on the event loop. */
    sileroThread: SileroThreadSetting;
    /** Silero: how far a speech onset may move back to the loud frames before it (ms). */
    sileroOnsetLookbackMs: number;
    sttPoolMax: number;
    sttPoolMinIdle: number;
    /** Embedded TTS worker threads (flite, or espeak-ng when flite is missing). */
    ttsPoolMax: number;
    ttsPoolMinIdle: number;
    voicesFile?: string;
    azure: {
      key?: string;
      region?: string;
      endpoint?: string;
      /** Pre-connected synthesizers: at most `max` per output rate, `minIdle` warm for the media rate. */
      ttsPool: { max: number; minIdle: number };
    };
  };
  readonly llm!: {
    driver: LlmDriver;
    scenariosDir?: string;
    defaultScenario: string;
    timeouts: { firstTokenMs: number; idleMs: number; totalMs: number };
    maxRetries: number;
    maxConcurrency: number;
    queueTimeoutMs: number;
    maxToolSteps: number;
    openai: { baseUrl?: string; apiKey?: string; model?: string };
    azure: {
      endpoint?: string;
      apiKey?: string;
      deployment?: string;
      apiVersion: string;
      useManagedIdentity: boolean;
    };
  };
  readonly acs!: {
    connectionString?: string;
    callerId?: string;
    audience?: string;
    jwtIssuer: string;
    jwksUrl: string;
    callbackSigningSecret?: string;
    eventGridSecret?: string;
    timeoutMs: number;
    /** E.164 numbers whose incoming calls are rejected. */
    blockList: string[];
    recordCalls: boolean;
    mediaFailurePolicy: MediaFailurePolicy;
    transferTarget?: string;
  };
  /** The settings as validated, by environment name; print it only through `maskedSettings`. */
  readonly settings!: Readonly<Record<string, string | number | boolean | undefined>>;

  /** Serialising the config (e.g. an accidental log of it) never reveals a secret. */
  toJSON(): Record<string, string | number | boolean | undefined> {
    return maskedSettings(this);
  }
}
