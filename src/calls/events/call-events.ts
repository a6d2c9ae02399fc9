import { DIGIT_WORDS } from '../../speech/numbers';

/** The call-level events voxline reacts to, parsed from ACS CloudEvents (a typed union). */
export const KNOWN_CALL_EVENTS = [
  'CallConnected',
  'CallDisconnected',
  'CreateCallFailed',
  'AnswerFailed',
  'ParticipantsUpdated',
  'PlayStarted',
  'PlayCompleted',
  'PlayFailed',
  'PlayCanceled',
  'RecognizeCompleted',
  'RecognizeFailed',
  'RecognizeCanceled',
  'ContinuousDtmfRecognitionToneReceived',
  'ContinuousDtmfRecognitionToneFailed',
  'ContinuousDtmfRecognitionStopped',
  'MediaStreamingStarted',
  'MediaStreamingStopped',
  'MediaStreamingFailed',
  'CallTransferAccepted',
  'CallTransferFailed',
  'RecordingStateChanged',
] as const;
export type CallEventType = (typeof KNOWN_CALL_EVENTS)[number];

export interface ResultInformation {
  code?: number;
  subCode?: number;
  message?: string;
}

export interface CallEvent {
  type: CallEventType;
  /** CloudEvent id (de-duplication key: ACS retries resend the same id). */
  id: string;
  callConnectionId: string;
  serverCallId?: string;
  correlationId?: string;
  operationContext?: string;
  resultInformation?: ResultInformation;
  time?: string;
  /** The event's `data`, for the fields specific to each type (tones, participants, recording state…). */
  data: Record<string, unknown>;
  /**
   * Session named by the callback URL (`?session=`), a hint for events that arrive before the
   * call↔session mapping is written; trusted only as far as the callback token is enforced.
   */
  sessionId?: string;
}

export type ParsedCallbackElement =
  { ok: true; event: CallEvent } | { ok: false; unknownType?: string; reason: string; id?: string };

const PREFIX = 'Microsoft.Communication.';

/** One element of an ACS callback array → a typed event, an unknown type, or a reason it is invalid. */
export function parseCallbackElement(element: unknown): ParsedCallbackElement {
  if (typeof element !== 'object' || element === null || Array.isArray(element))
    return { ok: false, reason: 'element is not an object' };
  const e = element as Record<string, unknown>;
  const id = typeof e.id === 'string' && e.id ? e.id : undefined;
  if (!id) return { ok: false, reason: 'element has no id' };
  if (typeof e.type !== 'string' || !e.type.startsWith(PREFIX))
    return { ok: false, id, reason: `type must start with ${PREFIX}` };
  const type = e.type.slice(PREFIX.length);
  const data = e.data;
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return { ok: false, id, reason: 'data must be an object' };
  const d = data as Record<string, unknown>;
  if (typeof d.callConnectionId !== 'string' || !d.callConnectionId)
    return { ok: false, id, reason: 'data.callConnectionId is missing' };
  if (!(KNOWN_CALL_EVENTS as readonly string[]).includes(type))
    return { ok: false, id, unknownType: type, reason: `unknown event type ${type}` };
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const result = d.resultInformation as Record<string, unknown> | undefined;
  return {
    ok: true,
    event: {
      type: type as CallEventType,
      id,
      callConnectionId: d.callConnectionId,
      serverCallId: str(d.serverCallId),
      correlationId: str(d.correlationId),
      operationContext: str(d.operationContext),
      time: str(e.time),
      ...(result && typeof result === 'object'
        ? {
            resultInformation: {
              code: typeof result.code === 'number' ? result.code : undefined,
              subCode: typeof result.subCode === 'number' ? result.subCode : undefined,
              message: str(result.message),
            },
          }
        : {}),
      data: d,
    },
  };
}

/** ACS DTMF tone names: the digit words plus the symbols and the A–D column. */
const TONE_NAMES: Readonly<Record<string, string>> = {
  ...DIGIT_WORDS,
  asterisk: '*',
  pound: '#',
  a: 'A',
  b: 'B',
  c: 'C',
  d: 'D',
};

/** An ACS tone name ("five", "pound") or digit → the digit, or undefined when it is neither. */
export function toneDigit(tone: unknown): string | undefined {
  if (typeof tone !== 'string') return undefined;
  const t = tone.trim().toLowerCase();
  if (/^[0-9*#]$/.test(t)) return t;
  return TONE_NAMES[t];
}

/** The digits of a RecognizeCompleted DTMF result (`dtmfResult.tones`), e.g. "4567#"; else undefined. */
export function recognizedDigits(event: CallEvent): string | undefined {
  if (event.type !== 'RecognizeCompleted') return undefined;
  const result = event.data.dtmfResult as { tones?: unknown } | undefined;
  if (!result || !Array.isArray(result.tones)) return undefined;
  const digits = result.tones.map(toneDigit);
  return digits.every((d) => d !== undefined) ? digits.join('') : undefined;
}
