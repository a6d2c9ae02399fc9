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
