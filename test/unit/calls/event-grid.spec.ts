import {
  INCOMING_CALL,
  identifierOf,
  parseEventGridDelivery,
  type EventGridDelivery,
} from '../../../src/calls/incoming/event-grid';
import {
  parseCallbackElement,
  recognizedDigits,
  toneDigit,
  type CallEvent,
} from '../../../src/calls/events/call-events';
import { callbackEvent, incomingCallEvent, validationEvent } from '../../support/acs-events';

function delivery(body: unknown): EventGridDelivery {
  const parsed = parseEventGridDelivery(body);
  if ('invalid' in parsed) throw new Error(`unexpected invalid delivery: ${parsed.invalid}`);
  return parsed;
}

function callEvent(type: string, data: Record<string, unknown> = {}): CallEvent {
  const parsed = parseCallbackElement(callbackEvent(type, 'call-1', data));
  if (!parsed.ok) throw new Error(`unexpected: ${parsed.reason}`);
  return parsed.event;
}

describe('parseEventGridDelivery', () => {
  it('returns the validation code of a subscription validation handshake', () => {
    const result = delivery([validationEvent('code-123')]);
    expect(result).toEqual({ validationCode: 'code-123', incoming: [], ignored: [], rejected: [] });
  });

  it('parses a batch of two IncomingCalls with caller and callee as E.164', () => {
    const first = incomingCallEvent({ id: 'ev-1', from: '+14255550100', to: '+18005550123' });
    // The second caller has only a raw id `4:+…` (no phoneNumber model), the callee is an ACS user.
    const base = incomingCallEvent({ id: 'ev-2' });
    const second = {
      ...base,
      data: {
        ...base.data,
        from: { kind: 'phoneNumber', rawId: '4:+33612345678' },
        to: { kind: 'communicationUser', rawId: '8:acs:resource_user-42' },
        callerDisplayName: 'Alice',
      },
    };

    const result = delivery([first, second]);

    expect(result.rejected).toEqual([]);
    expect(result.ignored).toEqual([]);
    expect(result.validationCode).toBeUndefined();
    expect(result.incoming).toEqual([
      {
        id: 'ev-1',
        incomingCallContext: first.data.incomingCallContext,
        from: '+14255550100',
        to: '+18005550123',
        callerDisplayName: undefined, // empty string in the event
        serverCallId: first.data.serverCallId,
        correlationId: first.data.correlationId,
      },
      {
        id: 'ev-2',
        incomingCallContext: second.data.incomingCallContext,
        from: '+33612345678',
        to: '8:acs:resource_user-42',
        callerDisplayName: 'Alice',
        serverCallId: second.data.serverCallId,
        correlationId: second.data.correlationId,
      },
    ]);
  });

  it('accepts a single CloudEvents-schema object (`type` instead of `eventType`)', () => {
    const cloudEvent = {
      id: 'ce-1',
      source: '/subscriptions/x/resourceGroups/y/providers/Microsoft.Communication/CommunicationServices/acs',
      specversion: '1.0',
      type: INCOMING_CALL,
      time: '2026-11-21T10:00:00Z',
      data: {
        from: { kind: 'phoneNumber', rawId: '4:+14255550100', phoneNumber: { value: '+14255550100' } },
        to: { kind: 'phoneNumber', rawId: '4:+18005550123', phoneNumber: { value: '+18005550123' } },
        incomingCallContext: 'ctx-ce',
        serverCallId: 'srv-ce',
        correlationId: 'corr-ce',
      },
    };
    const result = delivery(cloudEvent);
    expect(result.rejected).toEqual([]);
    expect(result.incoming).toEqual([
      {
        id: 'ce-1',
        incomingCallContext: 'ctx-ce',
        from: '+14255550100',
        to: '+18005550123',
        callerDisplayName: undefined,
        serverCallId: 'srv-ce',
        correlationId: 'corr-ce',
      },
    ]);
  });

  it('ignores (acknowledges) a well-formed event of a type the endpoint does not handle', () => {
    const other = {
      id: 'o-1',
      eventType: 'Microsoft.Communication.SMSReceived',
      data: { message: 'hi' },
    };
    const result = delivery([incomingCallEvent({ id: 'in-1' }), other]);
    expect(result.ignored).toEqual([{ index: 1, type: 'Microsoft.Communication.SMSReceived' }]);
    expect(result.incoming.map((c) => c.id)).toEqual(['in-1']);
    expect(result.rejected).toEqual([]);
  });

  it('rejects malformed elements with their index and a reason, keeping the good ones', () => {
    const { id: _id, ...withoutId } = incomingCallEvent();
    const withoutContext = incomingCallEvent({ id: 'no-ctx' });
    delete (withoutContext.data as Partial<typeof withoutContext.data>).incomingCallContext;
    const noData = { id: 'no-data', eventType: INCOMING_CALL };
    const noCode = { ...validationEvent(), data: {} };

    const result = delivery([
      withoutId,
      incomingCallEvent({ id: 'good' }),
      withoutContext,
      42,
      null,
      noData,
      noCode,
    ]);

    expect(result.incoming.map((c) => c.id)).toEqual(['good']);
    expect(result.validationCode).toBeUndefined();
    expect(result.rejected).toEqual([
      { index: 0, reason: 'event needs an id and an eventType (or CloudEvents type)' },
      { index: 2, reason: 'IncomingCall without data.incomingCallContext' },
      { index: 3, reason: 'event is not an object' },
      { index: 4, reason: 'event is not an object' },
      { index: 5, reason: `${INCOMING_CALL}: data must be an object` },
      { index: 6, reason: 'validation event without data.validationCode' },
    ]);
  });

  it('calls a body that is neither an array nor an object, or an empty array, invalid', () => {
    for (const body of ['not json events', 42, null, undefined, true]) {
      expect(parseEventGridDelivery(body)).toEqual({
        invalid: 'body must be an Event Grid event array or a CloudEvent object',
      });
    }
    expect(parseEventGridDelivery([])).toEqual({ invalid: 'body is an empty event array' });
  });
});

describe('identifierOf', () => {
  it('prefers phoneNumber.value, strips the 4: prefix of a phone raw id, and keeps other raw ids', () => {
    expect(identifierOf({ rawId: '4:+14255550100', phoneNumber: { value: '+14255550199' } })).toBe(
      '+14255550199',
    );
    expect(identifierOf({ rawId: '4:+14255550100' })).toBe('+14255550100');
    expect(identifierOf({ rawId: '8:acs:abc_def' })).toBe('8:acs:abc_def');
    expect(identifierOf({ rawId: '' })).toBeUndefined();
    expect(identifierOf('4:+14255550100')).toBeUndefined();
    expect(identifierOf(undefined)).toBeUndefined();
  });
});

describe('DTMF tones', () => {
  it('maps ACS tone names and digits to the digit', () => {
    expect(toneDigit('five')).toBe('5');
    expect(toneDigit('pound')).toBe('#');
    expect(toneDigit('asterisk')).toBe('*');
    expect(toneDigit('7')).toBe('7');
    expect(toneDigit('Zero')).toBe('0');
    expect(toneDigit('bogus')).toBeUndefined();
    expect(toneDigit(5)).toBeUndefined();
  });

  it('reads the digits of a RecognizeCompleted DTMF result', () => {
    const completed = callEvent('RecognizeCompleted', {
      recognitionType: 'dtmf',
      dtmfResult: { tones: ['four', 'five', 'pound'] },
    });
    expect(recognizedDigits(completed)).toBe('45#');
  });

  it('gives no digits for other event types, unknown tone names or a missing result', () => {
    const tones = { dtmfResult: { tones: ['four', 'five'] } };
    expect(recognizedDigits(callEvent('RecognizeFailed', tones))).toBeUndefined();
    expect(recognizedDigits(callEvent('ContinuousDtmfRecognitionToneReceived', tones))).toBeUndefined();
    expect(
      recognizedDigits(callEvent('RecognizeCompleted', { dtmfResult: { tones: ['four', 'bogus'] } })),
    ).toBeUndefined();
    expect(recognizedDigits(callEvent('RecognizeCompleted', {}))).toBeUndefined();
  });
});
