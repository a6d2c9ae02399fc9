import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { validateSync, type ValidationError } from 'class-validator';
import { AppConfig } from './app-config';
import { EnvSchema, SETTINGS } from './env.schema';
import type { SettingMeta } from './setting.decorator';

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: string[]) {
    super(
      `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`,
    );
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** Path of a dotenv file read when present; values from the real environment win. Default `.env`. */
  envFile?: string | false;
  /** Values that win over both the environment and the file (CLI flags such as `serve --port`). */
  overrides?: Record<string, string | undefined>;
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

function convert(meta: SettingMeta, raw: string): { value?: unknown; problem?: string } {
  switch (meta.kind) {
    case 'integer': {
      if (!/^-?\d+$/.test(raw)) return { problem: `${meta.name}: expected an integer, got "${raw}"` };
      return { value: Number(raw) };
    }
    case 'boolean': {
      const v = raw.toLowerCase();
      if (TRUE.has(v)) return { value: true };
      if (FALSE.has(v)) return { value: false };
      return { problem: `${meta.name}: expected true or false, got "${raw}"` };
    }
    default:
      return { value: raw };
  }
}

function flatten(errors: ValidationError[]): string[] {
  const out: string[] = [];
  for (const e of errors) {
    for (const message of Object.values(e.constraints ?? {})) {
      const prefix = message.startsWith(e.property) ? '' : `${e.property}: `;
      out.push(`${prefix}${message}`);
    }
  }
  return out;
}

/**
 * The only reader of process.env. Reads `.env` when present (the real environment wins), converts
 * and validates every setting, and either returns the typed config or throws a ConfigError listing
 * every problem at once.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): AppConfig {
  const envFile = options.envFile === undefined ? '.env' : options.envFile;
  const fromFile = envFile && existsSync(resolve(envFile)) ? parseDotenv(readFileSync(resolve(envFile))) : {};
  const source: Record<string, string | undefined> = { ...fromFile, ...env, ...options.overrides };

  const schema = new EnvSchema();
  const problems: string[] = [];
  for (const meta of SETTINGS) {
    const raw = source[meta.name]?.trim();
    if (raw === undefined || raw === '') {
      if (meta.default === undefined) Reflect.set(schema, meta.name, undefined);
      continue;
    }
    const { value, problem } = convert(meta, raw);
    if (problem) problems.push(problem);
    else Reflect.set(schema, meta.name, value);
  }
  // Conversion problems first, then rule violations of the fields that converted.
  const failedNames = new Set(problems.map((p) => p.split(':')[0]));
  problems.push(
    ...flatten(
      validateSync(schema, { forbidUnknownValues: true }).filter((e) => !failedNames.has(e.property)),
    ),
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return toAppConfig(schema);
}

function toAppConfig(e: EnvSchema): AppConfig {
  const settings: Record<string, string | number | boolean | undefined> = {};
  for (const meta of SETTINGS)
    settings[meta.name] = Reflect.get(e, meta.name) as string | number | boolean | undefined;
  return new AppConfig({
    server: {
      port: e.PORT,
      host: e.HOST,
      publicBaseUrl: e.PUBLIC_BASE_URL?.replace(/\/+$/, ''),
      adminApiKey: e.ADMIN_API_KEY,
      shutdownDrainSeconds: e.SHUTDOWN_DRAIN_SECONDS,
      maxConcurrentCalls: e.MAX_CONCURRENT_CALLS,
      readyGraceSeconds: e.READY_GRACE_SECONDS,
    },
    log: { level: e.LOG_LEVEL, transcripts: e.LOG_TRANSCRIPTS },
    telemetry: { serviceName: e.OTEL_SERVICE_NAME, otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT },
    session: {
      redisUrl: e.REDIS_URL,
      ttlSeconds: e.SESSION_TTL_SECONDS,
      commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
      writeQueueMax: e.SESSION_WRITE_QUEUE_MAX,
    },
    media: {
      streamingMode: e.STREAMING_MODE,
      audioFormat: e.MEDIA_AUDIO_FORMAT,
      idleTimeoutMs: e.MEDIA_IDLE_TIMEOUT_SECONDS * 1000,
      maxFrameBytes: e.MEDIA_MAX_FRAME_BYTES,
      endpointingMs: e.TURN_ENDPOINTING_MS,
      sttFinalWaitMs: e.TURN_STT_FINAL_WAIT_MS,
      bargeInMinMs: e.BARGE_IN_MIN_MS,
      falseInterruptionMs: e.BARGE_IN_FALSE_TIMEOUT_MS,
      playoutLeadMs: e.PLAYOUT_LEAD_MS,
      backchannels: e.BACKCHANNEL_WORDS.split(',')
        .map((w) => w.trim().toLowerCase())
        .filter(Boolean),
      silenceRepromptMs: e.SILENCE_REPROMPT_SECONDS * 1000,
      maxReprompts: e.SILENCE_MAX_REPROMPTS,
      maxProviderFailures: e.PROVIDER_MAX_FAILURES,
      watchdogMs: e.PLAYOUT_WATCHDOG_MS,
    },
    speech: {
      sttDriver: e.STT_DRIVER,
      ttsDriver: e.TTS_DRIVER,
      vadDriver: e.VAD_DRIVER,
      vadBatchMs: e.VAD_BATCH_MS,
      sileroThread: e.VAD_SILERO_THREAD,
      sileroOnsetLookbackMs: e.VAD_SILERO_ONSET_LOOKBACK_MS,
      sttPoolMax: e.STT_POOL_MAX,
      sttPoolMinIdle: Math.min(e.STT_POOL_MIN_IDLE, e.STT_POOL_MAX),
      ttsPoolMax: e.TTS_POOL_MAX,
      ttsPoolMinIdle: Math.min(e.TTS_POOL_MIN_IDLE, e.TTS_POOL_MAX),
      voicesFile: e.VOICES_FILE,
      azure: {
        key: e.AZURE_SPEECH_KEY,
        region: e.AZURE_SPEECH_REGION,
        endpoint: e.AZURE_SPEECH_ENDPOINT,
        ttsPool: {
          max: e.AZURE_TTS_POOL_MAX,
          minIdle: Math.min(e.AZURE_TTS_POOL_MIN_IDLE, e.AZURE_TTS_POOL_MAX),
        },
      },
    },
    llm: {
      driver: e.LLM_DRIVER,
      scenariosDir: e.SCENARIOS_DIR,
      defaultScenario: e.DEFAULT_SCENARIO,
      timeouts: {
        firstTokenMs: e.LLM_FIRST_TOKEN_TIMEOUT_MS,
        idleMs: e.LLM_IDLE_TIMEOUT_MS,
        totalMs: e.LLM_TOTAL_TIMEOUT_MS,
      },
      maxRetries: e.LLM_MAX_RETRIES,
      maxConcurrency: e.LLM_MAX_CONCURRENCY,
      queueTimeoutMs: e.LLM_QUEUE_TIMEOUT_MS,
      maxToolSteps: e.LLM_MAX_TOOL_STEPS,
      openai: { baseUrl: e.OPENAI_BASE_URL, apiKey: e.OPENAI_API_KEY, model: e.OPENAI_MODEL },
      azure: {
        endpoint: e.AZURE_OPENAI_ENDPOINT,
        apiKey: e.AZURE_OPENAI_API_KEY,
        deployment: e.AZURE_OPENAI_DEPLOYMENT,
        apiVersion: e.AZURE_OPENAI_API_VERSION,
        useManagedIdentity: e.AZURE_OPENAI_USE_MANAGED_IDENTITY,
      },
    },
    acs: {
      connectionString: e.ACS_CONNECTION_STRING,
      callerId: e.ACS_CALLER_ID,
      audience: e.ACS_AUDIENCE,
      jwtIssuer: e.ACS_JWT_ISSUER,
      jwksUrl: e.ACS_JWKS_URL,
      callbackSigningSecret: e.CALLBACK_SIGNING_SECRET,
      eventGridSecret: e.EVENTGRID_SECRET,
      timeoutMs: e.ACS_TIMEOUT_MS,
      blockList: (e.CALLER_BLOCK_LIST ?? '')
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean),
      recordCalls: e.RECORD_CALLS,
      mediaFailurePolicy: e.MEDIA_STREAMING_FAILURE_POLICY,
      transferTarget: e.TRANSFER_TARGET,
    },
    settings,
  });
}
