import {
  CallAutomationClient,
  type CallMediaRecognizeDtmfOptions,
  DtmfTone,
  type MediaStreamingOptions,
  type TextSource,
} from '@azure/communication-call-automation';
import { DomainError } from '../../common/errors';
import { withClientSpan } from '../../telemetry/spans';
import {
  CallAutomation,
  type AnswerCallRequest,
  type CallConnectionResult,
  type CreateCallRequest,
  type MediaStreamingSpec,
  type PlayTextRequest,
  type RecognizeDtmfRequest,
} from '../ports/call-automation.port';

export interface AcsCallAutomationOptions {
  /** `endpoint=https://…/;accesskey=<base64>`; never logged or echoed in errors. */
  connectionString: string;
  /** Deadline of each SDK operation (the SDK has no request timeout of its own). Default 10 s. */
  timeoutMs?: number;
  /** SDK retries of transient failures (tests: 0). Default: the SDK's (3). */
  maxRetries?: number;
}

const PEER_SERVICE = 'acs';
const DEFAULT_TIMEOUT_MS = 10_000;
const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);

const DTMF_TONES: Record<string, DtmfTone> = {
  '0': DtmfTone.Zero,
  '1': DtmfTone.One,
  '2': DtmfTone.Two,
  '3': DtmfTone.Three,
  '4': DtmfTone.Four,
  '5': DtmfTone.Five,
  '6': DtmfTone.Six,
  '7': DtmfTone.Seven,
  '8': DtmfTone.Eight,
  '9': DtmfTone.Nine,
  '*': DtmfTone.Asterisk,
  '#': DtmfTone.Pound,
};

/** The endpoint of an ACS connection string, without touching (or echoing) the access key. */
function endpointOf(connectionString: string): URL {
  const match = /(?:^|;)\s*endpoint=([^;]+)/i.exec(connectionString);
  if (!match || !/(?:^|;)\s*accesskey=[^;]+/i.test(connectionString)) {
    throw new Error('ACS connection string must have the form endpoint=https://…/;accesskey=…');
  }
  try {
    return new URL(match[1].trim());
  } catch {
    throw new Error('ACS connection string has an invalid endpoint URL');
  }
}

function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** Raw ids as ACS writes them (`4:+1555…`, `8:acs:…`) or a bare E.164 number. */
function identifierFromRawId(raw: string): { phoneNumber: string } | { communicationUserId: string } {
  if (/^\+\d{7,15}$/.test(raw)) return { phoneNumber: raw };
  if (/^4:\+\d{7,15}$/.test(raw)) return { phoneNumber: raw.slice(2) };
  if (raw.startsWith('8:acs:')) return { communicationUserId: raw };
  throw new DomainError('BAD_REQUEST', 'target must be an E.164 phone number or an ACS user id (8:acs:…)');
}

function mediaStreamingOptions(media: MediaStreamingSpec): MediaStreamingOptions {
  return {
    transportUrl: media.transportUrl,
    transportType: 'websocket',
    contentType: 'audio',
    // One mixed channel: the agent hears the call as the caller does.
    audioChannelType: 'mixed',
    startMediaStreaming: media.startMediaStreaming,
    enableBidirectional: media.enableBidirectional,
    audioFormat: media.audioFormat,
    enableDtmfTones: media.enableDtmfTones,
  };
}

function textSource(text: string, voiceName?: string): TextSource {
  return { kind: 'textSource', text, ...(voiceName ? { voiceName } : {}) };
}

interface RestErrorLike {
  name: 'RestError';
  message: string;
  code?: string;
  statusCode?: number;
}

function isRestError(err: unknown): err is RestErrorLike {
  return err instanceof Error && err.name === 'RestError';
}

/** Driver 'acs': ACS Call Automation through the official SDK. */
export class AcsCallAutomation extends CallAutomation {
  readonly driver = 'acs' as const;
  private readonly client: CallAutomationClient;
  private readonly timeoutMs: number;

  constructor(options: AcsCallAutomationOptions) {
    super();
    const endpoint = endpointOf(options.connectionString);
    const insecure = endpoint.protocol === 'http:';
    if (insecure && !isLoopback(endpoint.hostname)) {
      throw new Error(
        `ACS endpoint ${endpoint.origin} uses plain http: only https is allowed (http only for a loopback test server)`,
      );
    }
    if (!insecure && endpoint.protocol !== 'https:') {
      throw new Error(`ACS endpoint ${endpoint.origin} must use https`);
    }
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.client = new CallAutomationClient(options.connectionString, {
      allowInsecureConnection: insecure,
      ...(options.maxRetries !== undefined ? { retryOptions: { maxRetries: options.maxRetries } } : {}),
    });
  }

  answerCall(request: AnswerCallRequest, signal?: AbortSignal): Promise<CallConnectionResult> {
    return this.run('answerCall', undefined, signal, async (abortSignal) => {
      const { callConnectionProperties: p } = await this.client.answerCall(
        request.incomingCallContext,
        request.callbackUri,
        {
          mediaStreamingOptions: mediaStreamingOptions(request.media),
          operationContext: request.operationContext,
          abortSignal,
        },
      );
      return connectionResult(p);
    });
  }

  rejectCall(
    incomingCallContext: string,
    reason: 'none' | 'busy' | 'forbidden',
    signal?: AbortSignal,
  ): Promise<void> {
    return this.run('rejectCall', undefined, signal, (abortSignal) =>
      this.client.rejectCall(incomingCallContext, { callRejectReason: reason, abortSignal }),
    );
  }

  createCall(request: CreateCallRequest, signal?: AbortSignal): Promise<CallConnectionResult> {
    return this.run('createCall', undefined, signal, async (abortSignal) => {
      const { callConnectionProperties: p } = await this.client.createCall(
        {
          targetParticipant: { phoneNumber: request.targetNumber },
          // Only when configured: ACS answers a PSTN target without one with an error we surface as is.
          ...(request.callerId ? { sourceCallIdNumber: { phoneNumber: request.callerId } } : {}),
        },
        request.callbackUri,
        {
          mediaStreamingOptions: mediaStreamingOptions(request.media),
          operationContext: request.operationContext,
          abortSignal,
        },
      );
      return connectionResult(p);
    });
  }

  hangUp(callConnectionId: string, forEveryone: boolean, signal?: AbortSignal): Promise<void> {
    return this.run('hangUp', callConnectionId, signal, (abortSignal) =>
      this.client.getCallConnection(callConnectionId).hangUp(forEveryone, { abortSignal }),
    );
  }

  async transfer(callConnectionId: string, target: string, signal?: AbortSignal): Promise<void> {
    const identifier = identifierFromRawId(target);
    await this.run('transfer', callConnectionId, signal, (abortSignal) =>
      this.client.getCallConnection(callConnectionId).transferCallToParticipant(identifier, { abortSignal }),
    );
  }

  playText(callConnectionId: string, request: PlayTextRequest, signal?: AbortSignal): Promise<void> {
    return this.run('playText', callConnectionId, signal, (abortSignal) =>
      this.client
        .getCallConnection(callConnectionId)
        .getCallMedia()
        .playToAll([textSource(request.text, request.voiceName)], {
          operationContext: request.operationContext,
          abortSignal,
        }),
    );
  }

  async recognizeDtmf(
    callConnectionId: string,
    request: RecognizeDtmfRequest,
    signal?: AbortSignal,
  ): Promise<void> {
    const target = identifierFromRawId(request.targetParticipant);
    const stopDtmfTones = request.stopTones?.map((tone) => {
      const mapped = DTMF_TONES[tone];
      if (!mapped) throw new DomainError('BAD_REQUEST', `unknown DTMF stop tone '${tone}'`);
      return mapped;
    });
    const options: CallMediaRecognizeDtmfOptions = {
      kind: 'callMediaRecognizeDtmfOptions',
      maxTonesToCollect: request.maxTones,
      interToneTimeoutInSeconds: request.interToneTimeoutSeconds,
      stopDtmfTones,
      playPrompt: request.prompt ? textSource(request.prompt) : undefined,
      operationContext: request.operationContext,
    };
    // startRecognizing drops the abortSignal (SDK 1.6.0): run() still enforces the deadline by racing it.
    await this.run('recognizeDtmf', callConnectionId, signal, () =>
      this.client.getCallConnection(callConnectionId).getCallMedia().startRecognizing(target, options),
    );
  }

  startMediaStreaming(callConnectionId: string, signal?: AbortSignal): Promise<void> {
    return this.run('startMediaStreaming', callConnectionId, signal, (abortSignal) =>
      this.client.getCallConnection(callConnectionId).getCallMedia().startMediaStreaming({ abortSignal }),
    );
  }

  stopMediaStreaming(callConnectionId: string, signal?: AbortSignal): Promise<void> {
    return this.run('stopMediaStreaming', callConnectionId, signal, (abortSignal) =>
      this.client.getCallConnection(callConnectionId).getCallMedia().stopMediaStreaming({ abortSignal }),
    );
  }

  startRecording(serverCallId: string, signal?: AbortSignal): Promise<{ recordingId: string }> {
    return this.run('startRecording', undefined, signal, async (abortSignal) => {
      const result = await this.client.getCallRecording().start({
        callLocator: { id: serverCallId, kind: 'serverCallLocator' },
        abortSignal,
      });
      return { recordingId: result.recordingId };
    });
  }

  /**
   * One CLIENT span per SDK call, under our deadline combined with the caller's signal. The race makes the
   * deadline hold even where the SDK ignores the signal; errors come out as DomainErrors.
   */
  private run<T>(
    operation: string,
    callConnectionId: string | undefined,
    signal: AbortSignal | undefined,
    call: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    return withClientSpan(
      `acs ${operation}`,
      async () => {
        const deadline = AbortSignal.timeout(this.timeoutMs);
        const abortSignal = signal ? AbortSignal.any([signal, deadline]) : deadline;
        let onAbort: (() => void) | undefined;
        const aborted = new Promise<never>((_, reject) => {
          onAbort = () => reject(this.abortError(operation, deadline));
          if (abortSignal.aborted) onAbort();
          else abortSignal.addEventListener('abort', onAbort, { once: true });
        });
        try {
          if (abortSignal.aborted) return await aborted;
          return await Promise.race([call(abortSignal), aborted]);
        } catch (err) {
          if (err instanceof DomainError) throw err;
          if (abortSignal.aborted) throw this.abortError(operation, deadline, err);
          throw providerError(operation, err);
        } finally {
          if (onAbort) abortSignal.removeEventListener('abort', onAbort);
        }
      },
      {
        attributes: {
          'peer.service': PEER_SERVICE,
          ...(callConnectionId ? { 'rt.call.connection_id': callConnectionId } : {}),
        },
      },
    );
  }

  private abortError(operation: string, deadline: AbortSignal, cause?: unknown): DomainError {
    return deadline.aborted
      ? new DomainError(
          'PROVIDER_TIMEOUT',
          `ACS ${operation} timed out after ${this.timeoutMs} ms`,
          { timeoutMs: this.timeoutMs },
          { cause },
        )
      : new DomainError('PROVIDER_TIMEOUT', `ACS ${operation} was aborted`, { aborted: true }, { cause });
  }
}

function connectionResult(p: {
  callConnectionId?: string;
  serverCallId?: string;
  correlationId?: string;
}): CallConnectionResult {
  if (!p.callConnectionId) throw new DomainError('PROVIDER_ERROR', 'ACS answered without a callConnectionId');
  return {
    callConnectionId: p.callConnectionId,
    serverCallId: p.serverCallId,
    correlationId: p.correlationId,
  };
}

function providerError(operation: string, err: unknown): DomainError {
  if (isRestError(err)) {
    const status = err.statusCode;
    const code = err.code;
    const head = [status, code].filter((part) => part !== undefined).join(' ');
    return new DomainError(
      'PROVIDER_ERROR',
      `ACS ${operation} failed: ${head ? `${head}: ` : ''}${err.message}`,
      { status, code },
      { cause: err },
    );
  }
  // The SDK throws bare strings in a few places (e.g. a result without callConnectionId).
  const message = err instanceof Error ? err.message : String(err);
  return new DomainError('PROVIDER_ERROR', `ACS ${operation} failed: ${message}`, {}, { cause: err });
}
