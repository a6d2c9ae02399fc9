import {
  CancellationErrorCode,
  OutputFormat,
  ProfanityOption,
  PropertyId,
  SpeechConfig,
  SpeechSynthesisOutputFormat,
} from 'microsoft-cognitiveservices-speech-sdk';
import { redactUrl, secretScrubber } from '../../logging/redact';
import { DomainError } from '../../common/errors';

/** Where and how to reach Azure Speech. The key is a secret: it travels in the URL and a header. */
export interface AzureSpeechConnectionOptions {
  key: string;
  /** e.g. `westeurope`; ignored when `endpoint` is set. */
  region?: string;
  /**
   * Wins over `region`. A URL with a path is used as the full endpoint; a ws:// or wss:// URL without a
   * path is a host (Speech containers, local emulators) and gets the SDK's standard paths appended.
   */
  endpoint?: string;
}

export const PEER_SERVICE = 'azure-speech';

const TTS_PATH = '/tts/cognitiveservices/websocket/v1';

export type AzureProfanity = 'raw' | 'masked' | 'removed';

export interface AzureRecognitionSettings {
  /** Unset when the language is auto-detected (it would pin the service to one language). */
  language?: string;
  /** Silence that ends a phrase (Azure accepts 100–5000 ms); unset keeps the service default. */
  segmentationSilenceMs?: number;
  profanity: AzureProfanity;
}

export function buildSpeechConfig(options: AzureSpeechConnectionOptions): SpeechConfig {
  if (!options.key) throw new DomainError('NOT_AVAILABLE', 'Azure Speech key is not configured');
  if (options.endpoint) {
    const url = new URL(options.endpoint);
    const probed = url.pathname === '' || url.pathname === '/' || url.pathname.toLowerCase() === TTS_PATH;
    // For these paths fromEndpoint first probes https://host:443 for a redirect, which a local emulator
    // cannot answer (the SDK then fails): ws(s) URLs there are hosts. http(s) URLs keep the SDK's discovery.
    if (probed && (url.protocol === 'ws:' || url.protocol === 'wss:')) {
      return SpeechConfig.fromHost(url, options.key);
    }
    return SpeechConfig.fromEndpoint(url, options.key);
  }
  if (!options.region) throw new DomainError('NOT_AVAILABLE', 'Azure Speech needs a region or an endpoint');
  return SpeechConfig.fromSubscription(options.key, options.region);
}

export function configureRecognition(config: SpeechConfig, settings: AzureRecognitionSettings): void {
  if (settings.language) config.speechRecognitionLanguage = settings.language;
  // Detailed output carries NBest confidence and, with word timestamps, per-word timings.
  config.outputFormat = OutputFormat.Detailed;
  config.requestWordLevelTimestamps();
  config.setProfanity(PROFANITY[settings.profanity]);
  if (settings.segmentationSilenceMs !== undefined) {
    const ms = Math.round(Math.min(5000, Math.max(100, settings.segmentationSilenceMs)));
    config.setProperty(PropertyId.Speech_SegmentationSilenceTimeoutMs, String(ms));
  }
}

export function configureSynthesis(config: SpeechConfig, sampleRate: 16000 | 24000): void {
  config.speechSynthesisOutputFormat =
    sampleRate === 24000
      ? SpeechSynthesisOutputFormat.Raw24Khz16BitMonoPcm
      : SpeechSynthesisOutputFormat.Raw16Khz16BitMonoPcm;
}

const PROFANITY: Record<AzureProfanity, ProfanityOption> = {
  raw: ProfanityOption.Raw,
  masked: ProfanityOption.Masked,
  removed: ProfanityOption.Removed,
};

/** The endpoint as it may appear in logs. */
export function describeEndpoint(options: AzureSpeechConnectionOptions): string {
  return options.endpoint ? redactUrl(options.endpoint) : `region:${options.region ?? '?'}`;
}

/**
 * SDK error details may embed the connection URL, and with it the key: mask the key wherever it
 * appears (plain or URL-encoded) and any credential-looking query parameter.
 */
/** Removes the key from text before it reaches logs or errors (the SDK puts it in URLs). */
export const scrubber = (key: string): ((text: string) => string) => secretScrubber(key);

/** Maps an SDK cancellation (code as enum or as its name) to a domain error; `details` is already scrubbed. */
export function cancellationError(
  what: 'recognition' | 'synthesis',
  errorCode: CancellationErrorCode | string | undefined,
  details: string,
): DomainError {
  const name = (typeof errorCode === 'number' ? CancellationErrorCode[errorCode] : errorCode) || 'Unknown';
  return new DomainError('PROVIDER_ERROR', `Azure Speech ${what} failed (${name})`, {
    provider: PEER_SERVICE,
    errorCode: name,
    reason: details,
  });
}
