import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, maskedSettings, maskUrlCredentials, MASK } from '../../../src/config';

const load = (env: Record<string, string>) => loadConfig(env, { envFile: false });

function problemsOf(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('boots on embedded defaults with an empty environment', () => {
    const config = load({});
    expect(config.server.port).toBe(8080);
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.log.transcripts).toBe(false);
    expect(config.session.ttlSeconds).toBe(86400);
    expect(config.server.shutdownDrainSeconds).toBe(30);
    expect(config.speech).toMatchObject({ sttDriver: 'local', ttsDriver: 'local', vadDriver: 'silero' });
    expect(config.llm.driver).toBe('local');
    expect(config.media).toMatchObject({
      streamingMode: 'media',
      audioFormat: 'pcm16KMono',
      endpointingMs: 400,
      sttFinalWaitMs: 1500,
      bargeInMinMs: 250,
      falseInterruptionMs: 1500,
      playoutLeadMs: 100,
    });
    expect(config.media.backchannels).toEqual(expect.arrayContaining(['mm-hmm', 'yeah', 'okay']));
    expect(config.session.redisUrl).toBeUndefined();
    expect(config.acs.connectionString).toBeUndefined();
  });

  it('converts integers and booleans and treats empty values as unset', () => {
    const config = load({ PORT: '9000', LOG_TRANSCRIPTS: 'yes', REDIS_URL: '', MAX_CONCURRENT_CALLS: '7' });
    expect(config.server.port).toBe(9000);
    expect(config.log.transcripts).toBe(true);
    expect(config.session.redisUrl).toBeUndefined();
    expect(config.server.maxConcurrentCalls).toBe(7);
  });

  it('lists every problem at once instead of stopping at the first', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      LOG_TRANSCRIPTS: 'maybe',
      STREAMING_MODE: 'fax',
      SESSION_TTL_SECONDS: '5',
    });
    expect(problems).toHaveLength(5);
    expect(problems.join('\n')).toMatch(/PORT: expected an integer, got "eighty"/);
    expect(problems.join('\n')).toMatch(/LOG_LEVEL.*one of the following values: fatal, error/);
    expect(problems.join('\n')).toMatch(/LOG_TRANSCRIPTS: expected true or false/);
    expect(problems.join('\n')).toMatch(/STREAMING_MODE/);
    expect(problems.join('\n')).toMatch(/SESSION_TTL_SECONDS.*not be less than 60/);
  });

  it('requires the Azure Speech key and region only when an azure speech driver is selected', () => {
    expect(() => load({ AZURE_SPEECH_REGION: '' })).not.toThrow();
    const problems = problemsOf({ STT_DRIVER: 'azure' });
    expect(problems).toEqual([
      expect.stringMatching(/AZURE_SPEECH_KEY is required when STT_DRIVER or TTS_DRIVER is azure/),
      expect.stringMatching(/AZURE_SPEECH_REGION is required/),
    ]);
    // An endpoint replaces the region.
    expect(() =>
      load({ TTS_DRIVER: 'azure', AZURE_SPEECH_KEY: 'k', AZURE_SPEECH_ENDPOINT: 'ws://127.0.0.1:5000' }),
    ).not.toThrow();
  });

  it('requires the LLM fields of the selected driver only', () => {
    expect(problemsOf({ LLM_DRIVER: 'azure-openai' })).toEqual([
      expect.stringMatching(/AZURE_OPENAI_ENDPOINT/),
      expect.stringMatching(/AZURE_OPENAI_API_KEY is required/),
      expect.stringMatching(/AZURE_OPENAI_DEPLOYMENT is required/),
    ]);
    expect(problemsOf({ LLM_DRIVER: 'openai' })).toEqual([
      expect.stringMatching(
        /OPENAI_API_KEY is required when LLM_DRIVER is openai and OPENAI_BASE_URL is unset/,
      ),
      expect.stringMatching(/OPENAI_MODEL is required/),
    ]);
    // A self-hosted OpenAI-compatible server may not need a key.
    expect(
      load({ LLM_DRIVER: 'openai', OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1', OPENAI_MODEL: 'llama3' }).llm
        .openai,
    ).toEqual({
      baseUrl: 'http://127.0.0.1:11434/v1',
      apiKey: undefined,
      model: 'llama3',
    });
  });

  it('requires PUBLIC_BASE_URL when the ACS driver is selected', () => {
    const problems = problemsOf({
      ACS_CONNECTION_STRING: 'endpoint=https://x.communication.azure.com/;accesskey=abc',
    });
    expect(problems).toEqual([
      expect.stringMatching(
        /PUBLIC_BASE_URL must be an http\(s\) URL \(required when ACS_CONNECTION_STRING is set\)/,
      ),
    ]);
    const config = load({
      ACS_CONNECTION_STRING: 'endpoint=https://x.communication.azure.com/;accesskey=abc',
      PUBLIC_BASE_URL: 'https://voxline.example.com/',
    });
    expect(config.server.publicBaseUrl).toBe('https://voxline.example.com');
  });

  it('rejects malformed values with a reason naming the setting', () => {
    const problems = problemsOf({
      ACS_CALLER_ID: '555-1234',
      ACS_CONNECTION_STRING: 'nope',
      REDIS_URL: 'http://x',
      ADMIN_API_KEY: 'short',
    });
    expect(problems.join('\n')).toMatch(/ACS_CALLER_ID must be an E\.164 number/);
    expect(problems.join('\n')).toMatch(/ACS_CONNECTION_STRING must look like endpoint=/);
    expect(problems.join('\n')).toMatch(/REDIS_URL must be a redis:\/\//);
    expect(problems.join('\n')).toMatch(/ADMIN_API_KEY must be at least 16 characters/);
  });

  it('reads a .env file when present, and the real environment wins over it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'voxline-env-'));
    const file = join(dir, '.env');
    writeFileSync(file, 'PORT=7000\nLOG_LEVEL=debug\n# comment\nOTEL_SERVICE_NAME=from-file\n');
    const config = loadConfig({ OTEL_SERVICE_NAME: 'from-env' }, { envFile: file });
    expect(config.server.port).toBe(7000);
    expect(config.log.level).toBe('debug');
    expect(config.telemetry.serviceName).toBe('from-env');
    expect(loadConfig({}, { envFile: join(dir, 'absent.env') }).server.port).toBe(8080);
  });
});

describe('config masking', () => {
  const secrets = {
    ADMIN_API_KEY: 'admin-key-0123456789',
    AZURE_SPEECH_KEY: 'speech-secret-key',
    AZURE_SPEECH_REGION: 'westeurope',
    STT_DRIVER: 'azure',
    ACS_CONNECTION_STRING: 'endpoint=https://x.communication.azure.com/;accesskey=c2VjcmV0',
    PUBLIC_BASE_URL: 'https://voxline.example.com',
    REDIS_URL: 'redis://user:redis-password@redis:6379/0',
    CALLBACK_SIGNING_SECRET: 'callback-signing-secret',
    EVENTGRID_SECRET: 'eg-secret',
  };

  it('masks every secret in the printed settings and keeps the rest readable', () => {
    const masked = maskedSettings(load(secrets));
    expect(masked.ADMIN_API_KEY).toBe(MASK);
    expect(masked.AZURE_SPEECH_KEY).toBe(MASK);
    expect(masked.ACS_CONNECTION_STRING).toBe(MASK);
    expect(masked.CALLBACK_SIGNING_SECRET).toBe(MASK);
    expect(masked.EVENTGRID_SECRET).toBe(MASK);
    expect(masked.REDIS_URL).toBe(`redis://${MASK}@redis:6379/0`);
    expect(masked.AZURE_SPEECH_REGION).toBe('westeurope');
    expect(masked.OPENAI_API_KEY).toBeUndefined();
  });

  it('never reveals a secret when the config object itself is serialised', () => {
    const text = JSON.stringify(load(secrets));
    for (const value of [
      'admin-key-0123456789',
      'speech-secret-key',
      'c2VjcmV0',
      'redis-password',
      'callback-signing-secret',
      'eg-secret',
    ]) {
      expect(text).not.toContain(value);
    }
  });

  it('masks URL credentials but leaves URLs without credentials alone', () => {
    expect(maskUrlCredentials('rediss://:pw@host:6380')).toBe(`rediss://${MASK}@host:6380`);
    expect(maskUrlCredentials('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});
