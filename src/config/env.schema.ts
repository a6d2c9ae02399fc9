import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  ValidateIf,
} from 'class-validator';
import { Setting, settingsOf, type SettingMeta } from './setting.decorator';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const STREAMING_MODES = ['media', 'voice_live', 'transcription'] as const;
export const SPEECH_DRIVERS = ['local', 'azure'] as const;
export const VAD_DRIVERS = ['silero', 'webrtc'] as const;
export const SILERO_THREADS = ['worker', 'main'] as const;
export const LLM_DRIVERS = ['local', 'openai', 'azure-openai'] as const;
export const MEDIA_AUDIO_FORMATS = ['pcm16KMono', 'pcm24KMono'] as const;
export const MEDIA_FAILURE_POLICIES = ['retry', 'hangup'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];
export type StreamingMode = (typeof STREAMING_MODES)[number];
export type SpeechDriver = (typeof SPEECH_DRIVERS)[number];
export type VadDriver = (typeof VAD_DRIVERS)[number];
export type SileroThreadSetting = (typeof SILERO_THREADS)[number];
export type LlmDriver = (typeof LLM_DRIVERS)[number];
export type MediaAudioFormat = (typeof MEDIA_AUDIO_FORMATS)[number];
export type MediaFailurePolicy = (typeof MEDIA_FAILURE_POLICIES)[number];

const E164 = /^\+[1-9]\d{6,14}$/;
const URL_OPTS = { require_tld: false, require_protocol: true } as const;
const HTTP_URL_OPTS = { ...URL_OPTS, protocols: ['http', 'https'] };

const usesAzureSpeech = (o: EnvSchema) => o.STT_DRIVER === 'azure' || o.TTS_DRIVER === 'azure';

/**
 * Every environment variable voxline reads. Property names are the variable names (they are a public
 * contract); values arrive already converted to the declared kind by the loader.
 */
export class EnvSchema {
  // ---- server
  @Setting({
    group: 'server',
    kind: 'integer',
    default: 8080,
    minimum: 0,
    maximum: 65535,
    description: 'HTTP/WebSocket listen port (0 picks a free port).',
  })
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 8080;

  @Setting({ group: 'server', kind: 'string', default: '0.0.0.0', description: 'Listen address.' })
  @IsString()
  @IsNotEmpty()
  HOST = '0.0.0.0';

  @Setting({
    group: 'server',
    kind: 'url',
    example: 'https://voxline.example.com',
    requiredWhen: 'ACS_CONNECTION_STRING is set',
    description: 'Public https base URL that ACS reaches; callback and media WebSocket URLs derive from it.',
  })
  @ValidateIf((o: EnvSchema) => o.ACS_CONNECTION_STRING !== undefined || o.PUBLIC_BASE_URL !== undefined)
  @IsUrl(HTTP_URL_OPTS, {
    message: 'PUBLIC_BASE_URL must be an http(s) URL (required when ACS_CONNECTION_STRING is set)',
  })
  PUBLIC_BASE_URL?: string;

  @Setting({
    group: 'server',
    kind: 'string',
    secret: 'value',
    description:
      'When set, every /api/v1 REST endpoint except ACS/Event Grid webhooks requires `Authorization: Bearer <key>`.',
  })
  @IsOptional()
  @IsString()
  @Matches(/^\S{16,}$/, { message: 'ADMIN_API_KEY must be at least 16 characters without spaces' })
  ADMIN_API_KEY?: string;

  @Setting({
    group: 'server',
    kind: 'integer',
    default: 30,
    minimum: 0,
    maximum: 3600,
    description: 'On SIGTERM, how long open calls may continue before the process closes them and exits.',
  })
  @IsInt()
  @Min(0)
  @Max(3600)
  SHUTDOWN_DRAIN_SECONDS = 30;

  @Setting({
    group: 'server',
    kind: 'integer',
    default: 100,
    minimum: 1,
    maximum: 10000,
    description:
      'Calls this replica carries at once; beyond it new calls are refused (busy / 429 / WebSocket 1013).',
  })
  @IsInt()
  @Min(1)
  @Max(10000)
  MAX_CONCURRENT_CALLS = 100;

  @Setting({
    group: 'server',
    kind: 'integer',
    default: 15,
    minimum: 0,
    maximum: 600,
    description:
      'How long a dependency may be down before /ready reports 503 (brief blips do not flip readiness).',
  })
  @IsInt()
  @Min(0)
  @Max(600)
  READY_GRACE_SECONDS = 15;

  // ---- logging and telemetry
  @Setting({
    group: 'observability',
    kind: 'enum',
    enum: LOG_LEVELS,
    default: 'info',
    description: 'Log level of the JSON logs.',
  })
  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevel = 'info';

  @Setting({
    group: 'observability',
    kind: 'boolean',
    default: false,
    description: 'Log what callers and agents say. Off by default: transcripts are personal data.',
  })
  @IsBoolean()
  LOG_TRANSCRIPTS = false;

  @Setting({
    group: 'observability',
    kind: 'url',
    example: 'http://otel-collector:4318',
    description: 'OTLP/HTTP endpoint for traces; unset → spans are not exported.',
  })
  @IsOptional()
  @IsUrl(HTTP_URL_OPTS)
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;

  @Setting({
    group: 'observability',
    kind: 'string',
    default: 'voxline',
    description: 'service.name of traces and metrics.',
  })
  @IsString()
  @IsNotEmpty()
  OTEL_SERVICE_NAME = 'voxline';

  // ---- sessions
  @Setting({
    group: 'session',
    kind: 'url',
    secret: 'url-credentials',
    example: 'redis://127.0.0.1:6379',
    description:
      'Redis for sessions, history and the call↔session map; unset → in-memory store (single replica only).',
  })
  @IsOptional()
  @IsUrl(
    { ...URL_OPTS, protocols: ['redis', 'rediss'] },
    { message: 'REDIS_URL must be a redis:// or rediss:// URL' },
  )
  REDIS_URL?: string;

  @Setting({
    group: 'session',
    kind: 'integer',
    default: 86400,
    minimum: 60,
    maximum: 31536000,
    description: 'Time to live of every session key.',
  })
  @IsInt()
  @Min(60)
  @Max(31536000)
  SESSION_TTL_SECONDS = 86400;

  @Setting({
    group: 'session',
    kind: 'integer',
    default: 2000,
    minimum: 50,
    maximum: 60000,
    description: 'Timeout of one session-store command (call-control writes wait at most this long).',
  })
  @IsInt()
  @Min(50)
  @Max(60000)
  REDIS_COMMAND_TIMEOUT_MS = 2000;

  @Setting({
    group: 'session',
    kind: 'integer',
    default: 20000,
    minimum: 100,
    maximum: 1000000,
    description:
      'Conversation writes buffered while the store is unreachable; beyond it the oldest are dropped with an error log.',
  })
  @IsInt()
  @Min(100)
  @Max(1000000)
  SESSION_WRITE_QUEUE_MAX = 20000;

  // ---- media and speech
  @Setting({
    group: 'media',
    kind: 'enum',
    enum: STREAMING_MODES,
    default: 'media',
    description: 'Default streaming mode when a call does not choose one.',
  })
  @IsIn(STREAMING_MODES)
  STREAMING_MODE: StreamingMode = 'media';

  @Setting({
    group: 'media',
    kind: 'enum',
    enum: MEDIA_AUDIO_FORMATS,
    default: 'pcm16KMono',
    description: 'Audio format requested from ACS media streaming.',
  })
  @IsIn(MEDIA_AUDIO_FORMATS)
  MEDIA_AUDIO_FORMAT: MediaAudioFormat = 'pcm16KMono';

  @Setting({
    group: 'media',
    kind: 'integer',
    default: 30,
    minimum: 1,
    maximum: 3600,
    description: 'A media socket that sends nothing for this long is closed (ACS sends audio every 20 ms, silence included).',
  })
  @IsInt()
  @Min(1)
  @Max(3600)
  MEDIA_IDLE_TIMEOUT_SECONDS = 30;

  @Setting({
    group: 'media',
    kind: 'integer',
    default: 65536,
    minimum: 4096,
    maximum: 1048576,
    description: 'Largest media WebSocket message accepted; a larger one closes the socket with 1009.',
  })
  @IsInt()
  @Min(4096)
  @Max(1048576)
  MEDIA_MAX_FRAME_BYTES = 65536;

  @Setting({
    group: 'media',
    kind: 'integer',
    default: 400,
    minimum: 100,
    maximum: 5000,
    description: "Caller silence (VAD) before the caller's turn may be committed.",
  })
  @IsInt()
  @Min(100)
  @Max(5000)
  TURN_ENDPOINTING_MS = 400;

  @Setting({
    group: 'media',
    kind: 'integer',
    default: 1500,
    minimum: 100,
    maximum: 10000,
    description: 'After the caller stops speaking, how long to wait for the final transcript before committing the turn anyway.',
  })
  @IsInt()
  @Min(100)
  @Max(10000)
  TURN_STT_FINAL_WAIT_MS = 1500;

  @Setting({
    group: 'media',
    kind: 'integer',
    default: 250,
    minimum: 40,
    maximum: 3000,
    description: 'Caller speech while the agent talks must last this long to interrupt it (StopAudio).',
  })
  @IsInt()
  @Min(40)
  @Max(3000)
  BARGE_IN_MIN_MS = 250;

  @Setting({
    group: 'media',
    kind: 'integer',
    default: 1500,
    minimum: 200,
    maximum: 10000,
    description: 'After an interruption, if no words arrive within this time the agent resumes from the cut point.',
  })
  @IsInt()
  @Min(200)
  @Max(10000)
  BARGE_IN_FALSE_TIMEOUT_MS = 1500;

  @Setting({
    group: 'media',
    kind: 'integer',
    default: 100,
    minimum: 20,
    maximum: 1000,
    description: 'How far ahead of real time agent audio is sent to ACS (bounded so StopAudio is effective).',
  })
  @IsInt()
  @Min(20)
  @Max(1000)
  PLAYOUT_LEAD_MS = 100;

  @Setting({
    group: 'media',
    kind: 'string',
    default: 'mm-hmm,mhm,uh-huh,hmm,yeah,yep,okay,ok,right,i see,got it',
    description: 'Comma-separated backchannel phrases: said while the agent talks they do not interrupt it.',
  })
  @IsString()
  @IsNotEmpty()
  BACKCHANNEL_WORDS = 'mm-hmm,mhm,uh-huh,hmm,yeah,yep,okay,ok,right,i see,got it';

  @Setting({
    group: 'media',
    kind: 'integer',
    default: 8,
    minimum: 2,
    maximum: 120,
    description: 'Caller silence after the agent finishes before the agent re-prompts.',
  })
  @IsInt()
  @Min(2)
  @Max(120)
  SILENCE_REPROMPT_SECONDS = 8;

  @Setting({
    group: 'media',
    kind: 'integer',
    default: 2,
    minimum: 0,
    maximum: 10,
    description: 'Re-prompts after which a silent call is ended politely.',
  })
  @IsInt()
  @Min(0)
  @Max(10)
  SILENCE_MAX_REPROMPTS = 2;

  @Setting({
    group: 'media',
    kind: 'integer',
    default: 3,
    minimum: 1,
    maximum: 20,
    description: 'Consecutive failed turns (STT, LLM or TTS) after which the call is transferred (TRANSFER_TARGET) or ended politely.',
  })
  @IsInt()
  @Min(1)
  @Max(20)
  PROVIDER_MAX_FAILURES = 3;

  @Setting({
    group: 'media',
    kind: 'integer',
    default: 10000,
    minimum: 1000,
    maximum: 120000,
    description: 'A reply that makes no progress (no model text, no audio queued or sent) for this long is abandoned with an apology.',
  })
  @IsInt()
  @Min(1000)
  @Max(120000)
  PLAYOUT_WATCHDOG_MS = 10000;

  @Setting({
    group: 'speech',
    kind: 'enum',
    enum: SPEECH_DRIVERS,
    default: 'local',
    description: 'Speech-to-text driver: embedded pocketsphinx or Azure Speech.',
  })
  @IsIn(SPEECH_DRIVERS)
  STT_DRIVER: SpeechDriver = 'local';

  @Setting({
    group: 'speech',
    kind: 'enum',
    enum: SPEECH_DRIVERS,
    default: 'local',
    description: 'Text-to-speech driver: embedded flite/espeak-ng or Azure Speech.',
  })
  @IsIn(SPEECH_DRIVERS)
  TTS_DRIVER: SpeechDriver = 'local';

  @Setting({
    group: 'speech',
    kind: 'enum',
    enum: VAD_DRIVERS,
    default: 'silero',
    description: 'Voice activity detector: Silero v5 (robust) or WebRTC VAD (cheapest).',
  })
  @IsIn(VAD_DRIVERS)
  VAD_DRIVER: VadDriver = 'silero';

  @Setting({
    group: 'speech',
    kind: 'integer',
    default: 4,
    minimum: 0,
    maximum: 20,
    description:
      'Silero VAD: how long (ms) a call\'s audio window waits to share one inference with other calls (0 = end of the event-loop turn). Larger batches cost less CPU per call; VAD events come up to this much later.',
  })
  @IsInt()
  @Min(0)
  @Max(20)
  VAD_BATCH_MS = 4;

  @Setting({
    group: 'speech',
    kind: 'enum',
    enum: SILERO_THREADS,
    default: 'worker',
    description:
      'Silero VAD: where the batched inference runs. `worker`: a worker thread, so inference never holds the event loop that paces outbound audio (if the worker fails, inference moves to the main thread and an error is logged); `main`: on the event loop, between its turns.',
  })
  @IsIn(SILERO_THREADS)
  VAD_SILERO_THREAD: SileroThreadSetting = 'worker';

  @Setting({
    group: 'speech',
    kind: 'integer',
    default: 96,
    minimum: 0,
    maximum: 200,
    description:
      "Silero VAD: how far (ms) a speech onset may move back to the loud frames just before Silero's first speech window. Silero reacts 20-100 ms after a word's first sound; without this the barge-in minimum (BARGE_IN_MIN_MS) counts from that late onset. 0 counts from Silero's onset.",
  })
  @IsInt()
  @Min(0)
  @Max(200)
  VAD_SILERO_ONSET_LOOKBACK_MS = 96;

  @Setting({
    group: 'speech',
    kind: 'integer',
    default: 4,
    minimum: 1,
    maximum: 64,
    description:
      'Embedded speech-to-text decoders at most (≈100 MB of memory each). A call holds one only while its caller speaks (VAD onset to final), so a few serve many calls; an utterance beyond it waits for a free decoder.',
  })
  @IsInt()
  @Min(1)
  @Max(64)
  STT_POOL_MAX = 4;

  @Setting({
    group: 'speech',
    kind: 'integer',
    default: 1,
    minimum: 0,
    maximum: 64,
    description: 'Embedded speech-to-text decoders kept warm (created at boot, ~0.5 s each).',
  })
  @IsInt()
  @Min(0)
  @Max(64)
  STT_POOL_MIN_IDLE = 1;

  @Setting({
    group: 'speech',
    kind: 'integer',
    default: 4,
    minimum: 1,
    maximum: 64,
    description:
      'Embedded text-to-speech worker threads at most (flite ≈10 MB, espeak-ng ≈90 MB each); one serves one reply at a time, replies beyond it wait.',
  })
  @IsInt()
  @Min(1)
  @Max(64)
  TTS_POOL_MAX = 4;

  @Setting({
    group: 'speech',
    kind: 'integer',
    default: 2,
    minimum: 0,
    maximum: 64,
    description: 'Embedded text-to-speech worker threads kept warm (created at boot).',
  })
  @IsInt()
  @Min(0)
  @Max(64)
  TTS_POOL_MIN_IDLE = 2;

  @Setting({
    group: 'speech',
    kind: 'string',
    example: 'config/voices.yaml',
    description:
      'Voice catalogue (aliases → engine voice, style, rate); unset → the bundled config/voices.yaml.',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  VOICES_FILE?: string;

  @Setting({
    group: 'speech',
    kind: 'string',
    secret: 'value',
    requiredWhen: 'STT_DRIVER or TTS_DRIVER is azure',
    description: 'Azure Speech resource key.',
  })
  @ValidateIf(usesAzureSpeech)
  @IsNotEmpty({ message: 'AZURE_SPEECH_KEY is required when STT_DRIVER or TTS_DRIVER is azure' })
  AZURE_SPEECH_KEY?: string;

  @Setting({
    group: 'speech',
    kind: 'string',
    example: 'westeurope',
    requiredWhen: 'an azure speech driver is selected and AZURE_SPEECH_ENDPOINT is unset',
    description: 'Azure Speech region.',
  })
  @ValidateIf((o: EnvSchema) => usesAzureSpeech(o) && o.AZURE_SPEECH_ENDPOINT === undefined)
  @IsNotEmpty({
    message:
      'AZURE_SPEECH_REGION is required when an azure speech driver is selected and AZURE_SPEECH_ENDPOINT is unset',
  })
  AZURE_SPEECH_REGION?: string;

  @Setting({
    group: 'speech',
    kind: 'url',
    example: 'wss://westeurope.stt.speech.microsoft.com',
    description: 'Azure Speech endpoint/host URL (overrides the region; ws:// allowed for local emulators).',
  })
  @IsOptional()
  @IsUrl({ ...URL_OPTS, protocols: ['https', 'wss', 'ws', 'http'] })
  AZURE_SPEECH_ENDPOINT?: string;

  @Setting({
    group: 'speech',
    kind: 'integer',
    default: 32,
    minimum: 1,
    maximum: 1000,
    description:
      'Azure text-to-speech: synthesizers (one WebSocket each) alive at most per output rate; requests beyond it wait for a free one.',
  })
  @IsInt()
  @Min(1)
  @Max(1000)
  AZURE_TTS_POOL_MAX = 32;

  @Setting({
    group: 'speech',
    kind: 'integer',
    default: 2,
    minimum: 0,
    maximum: 100,
    description:
      'Azure text-to-speech: pre-connected synthesizers kept warm for the media rate (connected at boot), saving a WebSocket handshake per sentence.',
  })
  @IsInt()
  @Min(0)
  @Max(100)
  AZURE_TTS_POOL_MIN_IDLE = 2;

  // ---- llm
  @Setting({
    group: 'llm',
    kind: 'enum',
    enum: LLM_DRIVERS,
    default: 'local',
    description: 'Chat model driver: embedded rules model, any OpenAI-compatible server, or Azure OpenAI.',
  })
  @IsIn(LLM_DRIVERS)
  LLM_DRIVER: LlmDriver = 'local';

  @Setting({
    group: 'llm',
    kind: 'string',
    example: 'config/scenarios',
    description:
      'Directory of scenarios (one folder each with scenario.yaml and agents/*.yaml); unset → the bundled config/scenarios.',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  SCENARIOS_DIR?: string;

  @Setting({
    group: 'llm',
    kind: 'string',
    default: 'insurance',
    description: 'Scenario a call runs when it does not choose one.',
  })
  @IsString()
  @Matches(/^[a-z][a-z0-9_]*$/, {
    message: 'DEFAULT_SCENARIO must be a scenario folder name (lower case, digits, _)',
  })
  DEFAULT_SCENARIO = 'insurance';

  @Setting({
    group: 'llm',
    kind: 'integer',
    default: 8000,
    minimum: 100,
    maximum: 120000,
    description: 'Longest wait for the first token of an answer (retries included).',
  })
  @IsInt()
  @Min(100)
  @Max(120000)
  LLM_FIRST_TOKEN_TIMEOUT_MS = 8000;

  @Setting({
    group: 'llm',
    kind: 'integer',
    default: 5000,
    minimum: 100,
    maximum: 120000,
    description: 'Longest silence between two chunks of a streaming answer.',
  })
  @IsInt()
  @Min(100)
  @Max(120000)
  LLM_IDLE_TIMEOUT_MS = 5000;

  @Setting({
    group: 'llm',
    kind: 'integer',
    default: 30000,
    minimum: 1000,
    maximum: 600000,
    description: 'Longest time for a whole streaming answer.',
  })
  @IsInt()
  @Min(1000)
  @Max(600000)
  LLM_TOTAL_TIMEOUT_MS = 30000;

  @Setting({
    group: 'llm',
    kind: 'integer',
    default: 2,
    minimum: 0,
    maximum: 10,
    description: 'Retries (with backoff, honouring retry-after) before the first token only.',
  })
  @IsInt()
  @Min(0)
  @Max(10)
  LLM_MAX_RETRIES = 2;

  @Setting({
    group: 'llm',
    kind: 'integer',
    default: 32,
    minimum: 1,
    maximum: 10000,
    description: 'Requests in flight to the LLM endpoint at once (per replica); more wait in a queue.',
  })
  @IsInt()
  @Min(1)
  @Max(10000)
  LLM_MAX_CONCURRENCY = 32;

  @Setting({
    group: 'llm',
    kind: 'integer',
    default: 2000,
    minimum: 0,
    maximum: 60000,
    description: 'Longest wait in the LLM queue before the request fails as over capacity.',
  })
  @IsInt()
  @Min(0)
  @Max(60000)
  LLM_QUEUE_TIMEOUT_MS = 2000;

  @Setting({
    group: 'llm',
    kind: 'integer',
    default: 5,
    minimum: 1,
    maximum: 20,
    description: 'Tool calls an agent may chain in one turn.',
  })
  @IsInt()
  @Min(1)
  @Max(20)
  LLM_MAX_TOOL_STEPS = 5;

  @Setting({
    group: 'llm',
    kind: 'boolean',
    default: false,
    description: 'Authenticate to Azure OpenAI with the managed identity instead of AZURE_OPENAI_API_KEY.',
  })
  @IsBoolean()
  AZURE_OPENAI_USE_MANAGED_IDENTITY = false;

  @Setting({
    group: 'llm',
    kind: 'url',
    example: 'http://127.0.0.1:11434/v1',
    description: 'OpenAI-compatible base URL (unset → api.openai.com).',
  })
  @IsOptional()
  @IsUrl(HTTP_URL_OPTS)
  OPENAI_BASE_URL?: string;

  @Setting({
    group: 'llm',
    kind: 'string',
    secret: 'value',
    requiredWhen: 'LLM_DRIVER is openai and OPENAI_BASE_URL is unset',
    description: 'API key for the OpenAI-compatible server.',
  })
  @ValidateIf((o: EnvSchema) => o.LLM_DRIVER === 'openai' && o.OPENAI_BASE_URL === undefined)
  @IsNotEmpty({
    message: 'OPENAI_API_KEY is required when LLM_DRIVER is openai and OPENAI_BASE_URL is unset',
  })
  OPENAI_API_KEY?: string;

  @Setting({
    group: 'llm',
    kind: 'string',
    example: 'gpt-4o-mini',
    requiredWhen: 'LLM_DRIVER is openai',
    description: 'Model name sent to the OpenAI-compatible server.',
  })
  @ValidateIf((o: EnvSchema) => o.LLM_DRIVER === 'openai')
  @IsNotEmpty({ message: 'OPENAI_MODEL is required when LLM_DRIVER is openai' })
  OPENAI_MODEL?: string;

  @Setting({
    group: 'llm',
    kind: 'url',
    example: 'https://my-aoai.openai.azure.com',
    requiredWhen: 'LLM_DRIVER is azure-openai',
    description: 'Azure OpenAI resource endpoint.',
  })
  @ValidateIf((o: EnvSchema) => o.LLM_DRIVER === 'azure-openai')
  @IsUrl(HTTP_URL_OPTS, {
    message: 'AZURE_OPENAI_ENDPOINT must be an http(s) URL (required when LLM_DRIVER is azure-openai)',
  })
  AZURE_OPENAI_ENDPOINT?: string;

  @Setting({
    group: 'llm',
    kind: 'string',
    secret: 'value',
    requiredWhen: 'LLM_DRIVER is azure-openai',
    description: 'Azure OpenAI API key.',
  })
  @ValidateIf((o: EnvSchema) => o.LLM_DRIVER === 'azure-openai' && !o.AZURE_OPENAI_USE_MANAGED_IDENTITY)
  @IsNotEmpty({
    message:
      'AZURE_OPENAI_API_KEY is required when LLM_DRIVER is azure-openai (unless AZURE_OPENAI_USE_MANAGED_IDENTITY=true)',
  })
  AZURE_OPENAI_API_KEY?: string;

  @Setting({
    group: 'llm',
    kind: 'string',
    example: 'gpt-4o',
    requiredWhen: 'LLM_DRIVER is azure-openai',
    description: 'Azure OpenAI deployment name.',
  })
  @ValidateIf((o: EnvSchema) => o.LLM_DRIVER === 'azure-openai')
  @IsNotEmpty({ message: 'AZURE_OPENAI_DEPLOYMENT is required when LLM_DRIVER is azure-openai' })
  AZURE_OPENAI_DEPLOYMENT?: string;

  @Setting({
    group: 'llm',
    kind: 'string',
    default: '2024-10-21',
    description: 'Azure OpenAI api-version query parameter.',
  })
  @IsString()
  @Matches(/^\d{4}-\d{2}-\d{2}(-preview)?$/, {
    message: 'AZURE_OPENAI_API_VERSION must look like 2024-10-21 or 2025-01-01-preview',
  })
  AZURE_OPENAI_API_VERSION = '2024-10-21';

  // ---- ACS call control
  @Setting({
    group: 'acs',
    kind: 'string',
    secret: 'value',
    example: 'endpoint=https://my-acs.communication.azure.com/;accesskey=…',
    description:
      'ACS connection string; set → the ACS call-automation driver, unset → local (no phone network).',
  })
  @IsOptional()
  @Matches(/^endpoint=[^;]+;accesskey=[^;]+;?$/i, {
    message: 'ACS_CONNECTION_STRING must look like endpoint=https://…;accesskey=…',
  })
  ACS_CONNECTION_STRING?: string;

  @Setting({
    group: 'acs',
    kind: 'string',
    example: '+14255550123',
    description: 'E.164 caller id for dial-out; unset → none is sent (ACS rejects PSTN targets without one).',
  })
  @IsOptional()
  @Matches(E164, { message: 'ACS_CALLER_ID must be an E.164 number such as +14255550123' })
  ACS_CALLER_ID?: string;

  @Setting({
    group: 'acs',
    kind: 'string',
    description:
      'Expected JWT audience (the ACS resource immutable id); unset → callback/media JWT verification is off (loud warning at boot).',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  ACS_AUDIENCE?: string;

  @Setting({
    group: 'acs',
    kind: 'string',
    default: 'https://acscallautomation.communication.azure.com',
    description: 'Expected issuer of ACS-signed JWTs.',
  })
  @IsString()
  @IsNotEmpty()
  ACS_JWT_ISSUER = 'https://acscallautomation.communication.azure.com';

  @Setting({
    group: 'acs',
    kind: 'url',
    default: 'https://acscallautomation.communication.azure.com/calling/keys',
    description: 'JWKS URL with the keys that sign ACS JWTs.',
  })
  @IsUrl(HTTP_URL_OPTS)
  ACS_JWKS_URL = 'https://acscallautomation.communication.azure.com/calling/keys';

  @Setting({
    group: 'acs',
    kind: 'string',
    secret: 'value',
    description: 'When set, callback URLs carry a per-call HMAC token that is verified on every callback.',
  })
  @IsOptional()
  @IsString()
  @Matches(/^\S{16,}$/, { message: 'CALLBACK_SIGNING_SECRET must be at least 16 characters without spaces' })
  CALLBACK_SIGNING_SECRET?: string;

  @Setting({
    group: 'acs',
    kind: 'string',
    secret: 'value',
    description: 'When set, the Event Grid webhook requires `?code=<secret>`.',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  EVENTGRID_SECRET?: string;

  @Setting({
    group: 'acs',
    kind: 'integer',
    default: 10000,
    minimum: 500,
    maximum: 60000,
    description: 'Deadline of each ACS Call Automation request (the SDK has none of its own).',
  })
  @IsInt()
  @Min(500)
  @Max(60000)
  ACS_TIMEOUT_MS = 10000;

  @Setting({
    group: 'acs',
    kind: 'string',
    example: '+14255550100,+14255550101',
    description: 'Comma-separated E.164 numbers whose incoming calls are rejected.',
  })
  @IsOptional()
  @Matches(/^\s*\+[1-9]\d{6,14}\s*(,\s*\+[1-9]\d{6,14}\s*)*$/, {
    message: 'CALLER_BLOCK_LIST must be comma-separated E.164 numbers such as +14255550100,+14255550101',
  })
  CALLER_BLOCK_LIST?: string;

  @Setting({
    group: 'acs',
    kind: 'boolean',
    default: false,
    description: 'Record every call (inbound and dial-out); dial-out can also ask for it per call.',
  })
  @IsBoolean()
  RECORD_CALLS = false;

  @Setting({
    group: 'acs',
    kind: 'enum',
    enum: MEDIA_FAILURE_POLICIES,
    default: 'retry',
    description:
      'When ACS reports MediaStreamingFailed: `retry` restarts media streaming once, then hangs up politely; `hangup` hangs up politely at once.',
  })
  @IsIn(MEDIA_FAILURE_POLICIES)
  MEDIA_STREAMING_FAILURE_POLICY: MediaFailurePolicy = 'retry';

  @Setting({
    group: 'acs',
    kind: 'string',
    example: '+14255550199',
    description:
      'Where an agent transfers the caller when it names no target (E.164 or ACS user id 8:acs:…); unset → such a transfer fails with a clear error.',
  })
  @IsOptional()
  @Matches(/^(\+[1-9]\d{6,14}|8:acs:\S+)$/, {
    message: 'TRANSFER_TARGET must be an E.164 number or an ACS user id (8:acs:…)',
  })
  TRANSFER_TARGET?: string;
}

export type EnvName = keyof EnvSchema;

/** Every setting, in declaration order. */
export const SETTINGS: readonly SettingMeta[] = settingsOf(EnvSchema);
