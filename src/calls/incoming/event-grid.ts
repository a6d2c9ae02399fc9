/**
 * Event Grid deliveries to POST /api/v1/calls/incoming, in either schema: Event Grid (`eventType`,
 * `data`) or CloudEvents 1.0 (`type`, `data`), as an array (batch) or a single event.
 */

export const SUBSCRIPTION_VALIDATION = 'Microsoft.EventGrid.SubscriptionValidationEvent';
export const INCOMING_CALL = 'Microsoft.Communication.IncomingCall';

export interface IncomingCall {
  /** Event id (de-duplication key: Event Grid redelivers with the same id). */
  id: string;
  incomingCallContext: string;
  /** Caller as E.164 when it is a phone number, else ACS's raw id. */
  from?: string;
  to?: string;
  callerDisplayName?: string;
  serverCallId?: string;
  correlationId?: string;
}

export interface EventGridDelivery {
  /** Set when the delivery is the subscription handshake: answer `{validationResponse}`. */
  validationCode?: string;
  incoming: IncomingCall[];
  /** Other well-formed events (e.g. a type this endpoint does not handle), acknowledged. */
  ignored: Array<{ index: number; type: string }>;
  rejected: Array<{ index: number; reason: string }>;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/**
 * ACS communication identifier model → E.164 for phone numbers (`phoneNumber.value`, or a `4:+…` raw
 * id), else the raw id.
 */
export function identifierOf(model: unknown): string | undefined {
  if (!isObject(model)) return undefined;
  const phone = isObject(model.phoneNumber) ? str(model.phoneNumber.value) : undefined;
  if (phone) return phone;
  const raw = str(model.rawId);
  if (raw && /^4:\+\d+$/.test(raw)) return raw.slice(2);
  return raw;
}

/** Parses a delivery; throws nothing — the body shape problems come back as `rejected` reasons. */
export function parseEventGridDelivery(body: unknown): EventGridDelivery | { invalid: string } {
  const events = Array.isArray(body) ? body : isObject(body) ? [body] : undefined;
  if (!events) return { invalid: 'body must be an Event Grid event array or a CloudEvent object' };
  if (events.length === 0) return { invalid: 'body is an empty event array' };
  const out: EventGridDelivery = { incoming: [], ignored: [], rejected: [] };
  for (const [index, e] of events.entries()) {
    if (!isObject(e)) {
      out.rejected.push({ index, reason: 'event is not an object' });
      continue;
    }
    const type = str(e.eventType) ?? str(e.type);
    const id = str(e.id);
    if (!type || !id) {
      out.rejected.push({ index, reason: 'event needs an id and an eventType (or CloudEvents type)' });
      continue;
    }
    const data = e.data;
    if (!isObject(data)) {
      out.rejected.push({ index, reason: `${type}: data must be an object` });
      continue;
    }
    if (type === SUBSCRIPTION_VALIDATION) {
      const code = str(data.validationCode);
      if (!code) out.rejected.push({ index, reason: 'validation event without data.validationCode' });
      else out.validationCode = code;
      continue;
    }
    if (type !== INCOMING_CALL) {
      out.ignored.push({ index, type });
      continue;
    }
    const incomingCallContext = str(data.incomingCallContext);
    if (!incomingCallContext) {
      out.rejected.push({ index, reason: 'IncomingCall without data.incomingCallContext' });
      continue;
    }
    out.incoming.push({
      id,
      incomingCallContext,
      from: identifierOf(data.from),
      to: identifierOf(data.to),
      callerDisplayName: str(data.callerDisplayName),
      serverCallId: str(data.serverCallId),
      correlationId: str(data.correlationId),
    });
  }
  return out;
}
