import { SpanKind, type Span } from '@opentelemetry/api';
import {
  AudioConfig,
  AudioInputStream,
  AudioStreamFormat,
  AutoDetectSourceLanguageConfig,
  CancellationReason,
  Connection,
  LanguageIdMode,
  PhraseListGrammar,
  PropertyId,
  ResultReason,
  SpeechRecognizer,
  type PushAudioInputStream,
  type SpeechRecognitionResult,
} from 'microsoft-cognitiveservices-speech-sdk';
import pino, { type Logger } from 'pino';
import { DomainError, withTimeout } from '../../common/errors';
import { recordSpanError, startSpan } from '../../telemetry/spans';
import {
  SpeechToText,
  type ExpectedInput,
  type SttEvent,
  type SttListener,
  type SttSession,
  type SttSessionOptions,
  type SttWord,
} from '../ports/speech-to-text.port';
import {
  buildSpeechConfig,
  cancellationError,
  configureRecognition,
  describeEndpoint,
  PEER_SERVICE,
  scrubber,
  type AzureProfanity,
  type AzureSpeechConnectionOptions,
} from './azure-speech-config';

export interface AzureSttTimeouts {
  /** Connecting and starting continuous recognition. */
  connectMs: number;
  /** From the first written frame to the service's first message (turn.start). */
  firstResponseMs: number;
  /** Longest quiet spell from the service while it is inside an utterance (after speech start, before the final). */
  resultMs: number;
  /** stopContinuousRecognition + release in close(). */
  closeMs: number;
}

export interface AzureSpeechToTextOptions extends AzureSpeechConnectionOptions {
  /** Used when a session names no language. */
  defaultLanguage?: string;
  segmentationSilenceMs?: number;
  profanity?: AzureProfanity;
  timeouts?: Partial<AzureSttTimeouts>;
  logger?: Logger;
}

export const DEFAULT_STT_TIMEOUTS: AzureSttTimeouts = {
  connectMs: 5000,
  firstResponseMs: 5000,
  resultMs: 5000,
  closeMs: 2000,
};

const SUPPORTED_RATES = new Set([16000, 24000]);
const TICKS_PER_MS = 10_000;
/** Continuous language ID accepts up to 10 candidates. */
const MAX_CANDIDATE_LANGUAGES = 10;

const EXPECTED_PHRASES: Record<ExpectedInput, string[]> = {
  free: [],
  name: [],
  yes_no: ['yes', 'no', 'yeah', 'nope'],
  digits: ['zero', 'oh', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'],
};

/** Speech-to-text through Azure Speech continuous recognition, one recognizer per session. */
export class AzureSpeechToText extends SpeechToText {
  readonly driver = 'azure';
  private readonly timeouts: AzureSttTimeouts;
  private readonly logger: Logger;

  constructor(private readonly options: AzureSpeechToTextOptions) {
    super();
    this.timeouts = { ...DEFAULT_STT_TIMEOUTS, ...options.timeouts };
    this.logger = (options.logger ?? pino({ enabled: false })).child({ component: 'azure-stt' });
  }

  async open(options: SttSessionOptions): Promise<SttSession> {
    if (!SUPPORTED_RATES.has(options.sampleRate)) {
      throw new DomainError(
        'BAD_REQUEST',
        `Azure STT takes 16 or 24 kHz audio, not ${options.sampleRate} Hz`,
      );
    }
    if (options.signal?.aborted) throw new DomainError('BAD_REQUEST', 'STT session aborted before it opened');
    const session = new AzureSttSession(this.options, this.timeouts, this.logger, options);
    await session.start();
    return session;
  }
}

class AzureSttSession implements SttSession {
  private readonly listeners: SttListener[] = [];
  private readonly push: PushAudioInputStream;
  private readonly recognizer: SpeechRecognizer;
  private readonly connection: Connection;
  private readonly phraseList: PhraseListGrammar;
  private readonly span: Span;
  private readonly scrub: (text: string) => string;
  private readonly log: Logger;
  private readonly basePhrases: string[];
  private readonly startedAt = Date.now();
  private closing: Promise<void> | undefined;
  private failed = false;
  private tearingDown = false;
  private wroteAudio = false;
  private heardService = false;
  private lastServiceMessageAt = 0;
  private inUtterance = false;
  private watchdog: NodeJS.Timeout | undefined;
  private bytesWritten = 0;
  private finals = 0;
  /** A cancellation seen while start() is still running fails open() instead of becoming an event. */
  private startError: DomainError | undefined;
  private starting = true;

  constructor(
    config: AzureSpeechToTextOptions,
    private readonly timeouts: AzureSttTimeouts,
    logger: Logger,
    private readonly options: SttSessionOptions,
  ) {
    const candidates = options.candidateLanguages?.slice(0, MAX_CANDIDATE_LANGUAGES) ?? [];
    const language = options.language ?? config.defaultLanguage ?? 'en-US';
    const languageLabel = candidates.length > 0 ? `auto:${candidates.join(',')}` : language;
    this.scrub = scrubber(config.key);
    this.log = logger.child({ language: languageLabel, sampleRate: options.sampleRate });
    const speechConfig = buildSpeechConfig(config);
    this.span = startSpan('azure-speech recognize', SpanKind.CLIENT, {
      attributes: {
        'peer.service': PEER_SERVICE,
        'speech.language': languageLabel,
        'audio.sample_rate': options.sampleRate,
      },
    });
    configureRecognition(speechConfig, {
      language: candidates.length > 0 ? undefined : language,
      segmentationSilenceMs: config.segmentationSilenceMs,
      profanity: config.profanity ?? 'raw',
    });
    this.push = AudioInputStream.createPushStream(
      AudioStreamFormat.getWaveFormatPCM(options.sampleRate, 16, 1),
    );
    const audio = AudioConfig.fromStreamInput(this.push);
    if (candidates.length > 0) {
      const autoDetect = AutoDetectSourceLanguageConfig.fromLanguages(candidates);
      // Continuous: a caller may switch language mid-call (at-start would lock in the first phrase's).
      autoDetect.mode = LanguageIdMode.Continuous;
      this.recognizer = SpeechRecognizer.FromConfig(speechConfig, autoDetect, audio);
    } else {
      this.recognizer = new SpeechRecognizer(speechConfig, audio);
    }
    this.connection = Connection.fromRecognizer(this.recognizer);
    this.phraseList = PhraseListGrammar.fromRecognizer(this.recognizer);
    this.basePhrases = options.phrases ?? [];
    this.applyPhrases(options.expected ?? 'free');
    this.wire();
    this.log.debug(
      { endpoint: describeEndpoint(config), candidates: candidates.length },
      'azure stt session opening',
    );
  }

  async start(): Promise<void> {
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) =>
          this.recognizer.startContinuousRecognitionAsync(resolve, (e) => reject(this.providerError(e))),
        ),
        this.timeouts.connectMs,
        'Azure Speech recognition start',
        'PROVIDER_TIMEOUT',
      );
      // A connection failure does not reject the start: the SDK reports it as a cancellation first.
      if (this.startError) throw this.startError;
    } catch (err) {
      const error = err instanceof DomainError ? err : this.providerError(err);
      this.log.warn({ code: error.code, reason: error.details?.reason }, 'azure stt session failed to start');
      recordSpanError(this.span, error);
      this.failed = true;
      await this.teardown(false);
      throw error;
    } finally {
      this.starting = false;
    }
    const signal = this.options.signal;
    if (signal?.aborted) void this.close();
    else signal?.addEventListener('abort', this.onAbort, { once: true });
    this.log.debug('azure stt session started');
  }

  write(frame: Buffer): void {
    if (this.tearingDown) return;
    // The SDK keeps the buffer it is given: hand it a copy that owns its memory.
    this.push.write(frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) as ArrayBuffer);
    this.bytesWritten += frame.byteLength;
    if (!this.wroteAudio) {
      this.wroteAudio = true;
      if (!this.heardService) this.arm(this.timeouts.firstResponseMs, 'first response');
    }
  }

  /** Azure segments the stream itself (it is billed and decodes all of it): a VAD onset changes nothing. */
  speechStarted(): void {}

  /**
   * Does not flush: Azure ends phrases on its own silence detection (segmentationSilenceMs) and the media
   * path keeps writing the caller's silence, which is what it needs; the SDK's push stream cannot be
   * flushed without ending the session (it forwards audio in 100 ms blocks). It only checks liveness: if
   * the service has said nothing for resultMs although the caller just spoke, it must answer within
   * resultMs more (a connection that died silently between utterances).
   */
  endUtterance(): void {
    if (this.tearingDown || !this.wroteAudio || this.watchdog) return;
    if (Date.now() - this.lastServiceMessageAt < this.timeouts.resultMs) return;
    this.arm(this.timeouts.resultMs, 'response to the utterance');
  }

  /**
   * Updates the phrase list. Azure reads it when a service turn starts, and continuous recognition keeps
   * one turn for long stretches, so this is best effort for the current utterance.
   */
  setExpectedInput(expected: ExpectedInput): void {
    if (this.tearingDown) return;
    this.applyPhrases(expected);
  }

  onEvent(listener: SttListener): void {
    this.listeners.push(listener);
  }

  close(): Promise<void> {
    this.closing ??= this.teardown(true);
    return this.closing;
  }

  private readonly onAbort = () => void this.close();

  private applyPhrases(expected: ExpectedInput): void {
    this.phraseList.clear();
    const phrases = [...new Set([...this.basePhrases, ...EXPECTED_PHRASES[expected]])];
    if (phrases.length > 0) this.phraseList.addPhrases(phrases);
  }

  private wire(): void {
    // Any message proves the service is alive; the SDK reports turn.start only here.
    this.connection.messageReceived = () => {
      this.heardService = true;
      this.lastServiceMessageAt = Date.now();
      if (this.inUtterance) this.arm(this.timeouts.resultMs, 'result');
      else this.disarm();
    };
    this.recognizer.speechStartDetected = () => {
      this.inUtterance = true;
      this.arm(this.timeouts.resultMs, 'result');
    };
    this.recognizer.recognizing = (_s, e) => {
      this.inUtterance = true;
      this.arm(this.timeouts.resultMs, 'result');
      if (e.result.text) this.emit({ type: 'partial', text: e.result.text });
    };
    this.recognizer.recognized = (_s, e) => {
      this.inUtterance = false;
      this.disarm();
      if (e.result.reason !== ResultReason.RecognizedSpeech || !e.result.text) return;
      this.finals++;
      this.emit(finalEvent(e.result));
    };
    this.recognizer.canceled = (_s, e) => {
      // EndOfStream follows our own close; a cancellation during teardown is the stop we asked for.
      if (e.reason !== CancellationReason.Error || this.tearingDown) return;
      this.fail(cancellationError('recognition', e.errorCode, this.scrub(e.errorDetails ?? '')));
    };
    this.connection.disconnected = () => {
      // The SDK reconnects by itself on the next audio it sends (and replays unacknowledged audio).
      if (!this.tearingDown) this.log.info('azure stt connection dropped; the SDK reconnects');
    };
  }

  private emit(event: SttEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.log.error({ err }, 'stt listener threw');
      }
    }
  }

  private arm(ms: number, what: string): void {
    this.disarm();
    this.watchdog = setTimeout(() => {
      this.fail(
        new DomainError('PROVIDER_TIMEOUT', `Azure Speech recognition: no ${what} within ${ms} ms`, {
          provider: PEER_SERVICE,
        }),
      );
    }, ms);
    this.watchdog.unref();
  }

  private disarm(): void {
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }

  /** The engine failed: report once, then release everything (the session is closed). */
  private fail(error: DomainError): void {
    if (this.failed || this.tearingDown) return;
    if (this.starting) {
      this.startError ??= error;
      return;
    }
    this.failed = true;
    this.log.warn({ code: error.code, reason: error.details?.reason }, 'azure stt session failed');
    recordSpanError(this.span, error);
    this.closing = this.teardown(false);
    this.emit({ type: 'error', error });
  }

  private providerError(err: unknown): DomainError {
    const reason = this.scrub(err instanceof Error ? err.message : String(err));
    return new DomainError('PROVIDER_ERROR', 'Azure Speech recognition failed', {
      provider: PEER_SERVICE,
      reason,
    });
  }

  /**
   * `graceful`: end the audio and let the service finish its turn (finals still arrive). Otherwise, or
   * when that takes longer than closeMs, cut the connection first: the SDK's close() would otherwise
   * wait for a turn.end that may never come. (PropertyId.Recognizer_StopTimeoutMs exists but leaves an
   * uncleared timer behind on every start and stop.)
   */
  private async teardown(graceful: boolean): Promise<void> {
    this.tearingDown = true;
    this.disarm();
    this.options.signal?.removeEventListener('abort', this.onAbort);
    const budget = this.timeouts.closeMs;
    this.push.close();
    let stopped = false;
    if (graceful) {
      try {
        await withTimeout(
          new Promise<void>((resolve, reject) =>
            this.recognizer.stopContinuousRecognitionAsync(resolve, reject),
          ),
          budget,
          'Azure Speech recognition stop',
        );
        stopped = true;
      } catch (err) {
        this.log.info({ reason: this.scrub(String(err)) }, 'azure stt stop did not complete; disconnecting');
      }
    }
    try {
      if (!stopped) {
        await withTimeout(
          new Promise<void>((resolve, reject) => this.connection.closeConnection(resolve, reject)),
          budget,
          'Azure Speech disconnect',
        );
      }
      this.connection.close();
      await withTimeout(
        new Promise<void>((resolve, reject) => this.recognizer.close(resolve, reject)),
        budget,
        'Azure Speech recognizer close',
      );
    } catch (err) {
      this.log.info({ reason: this.scrub(String(err)) }, 'azure stt release did not complete');
    }
    this.span.setAttributes({
      'speech.finals': this.finals,
      'audio.bytes': this.bytesWritten,
      'speech.session_ms': Date.now() - this.startedAt,
    });
    this.span.end();
    this.log.debug({ finals: this.finals, bytes: this.bytesWritten }, 'azure stt session closed');
  }
}

function finalEvent(result: SpeechRecognitionResult): SttEvent {
  const event: Extract<SttEvent, { type: 'final' }> = {
    type: 'final',
    text: result.text,
    startMs: ticksToMs(result.offset),
    endMs: ticksToMs(result.offset + result.duration),
  };
  const best = parseBest(result.properties.getProperty(PropertyId.SpeechServiceResponse_JsonResult, ''));
  if (best?.Confidence !== undefined) event.confidence = best.Confidence;
  if (best?.Words?.length) {
    event.words = best.Words.map((w): SttWord => ({
      word: w.Word,
      startMs: ticksToMs(w.Offset),
      endMs: ticksToMs(w.Offset + w.Duration),
      ...(w.Confidence !== undefined && { confidence: w.Confidence }),
    }));
  }
  return event;
}

interface DetailedBest {
  Confidence?: number;
  Words?: { Word: string; Offset: number; Duration: number; Confidence?: number }[];
}

/** NBest[0] of a detailed result (offsets already rebased onto the session by the SDK). */
function parseBest(json: string): DetailedBest | undefined {
  if (!json) return undefined;
  try {
    const parsed = JSON.parse(json) as { NBest?: DetailedBest[] };
    return parsed.NBest?.[0];
  } catch {
    return undefined;
  }
}

const ticksToMs = (ticks: number) => Math.round(ticks / TICKS_PER_MS);
