import { randomUUID } from 'node:crypto';

/** Builders of the JSON ACS and Event Grid POST to our webhooks (shapes from the wire-format notes). */

const phone = (e164: string) => ({ kind: 'phoneNumber', rawId: `4:${e164}`, phoneNumber: { value: e164 } });

/** Event Grid schema: Microsoft.EventGrid.SubscriptionValidationEvent. */
export function validationEvent(code = `code-${randomUUID()}`) {
  return {
    id: randomUUID(),
    topic: '/subscriptions/x/resourceGroups/y/providers/Microsoft.Communication/CommunicationServices/acs',
    subject: '',
    eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
    eventTime: new Date().toISOString(),
    metadataVersion: '1',
    dataVersion: '2',
    data: { validationCode: code, validationUrl: 'https://rp-eastus2.eventgrid.azure.net/validate?id=x' },
  };
}

/** Event Grid schema: Microsoft.Communication.IncomingCall from a PSTN caller. */
export function incomingCallEvent(options: { from?: string; to?: string; id?: string } = {}) {
  return {
    id: options.id ?? randomUUID(),
    topic: '/subscriptions/x/resourceGroups/y/providers/Microsoft.Communication/CommunicationServices/acs',
    subject: `/caller/4:${options.from ?? '+14255550100'}/recipient/4:${options.to ?? '+18005550123'}`,
    eventType: 'Microsoft.Communication.IncomingCall',
    eventTime: new Date().toISOString(),
    metadataVersion: '1',
    dataVersion: '1.0',
    data: {
      to: phone(options.to ?? '+18005550123'),
      from: phone(options.from ?? '+14255550100'),
      serverCallId: `server-${randomUUID()}`,
      callerDisplayName: '',
      incomingCallContext: `ctx-${randomUUID()}`,
      correlationId: randomUUID(),
    },
  };
}

/** One ACS callback CloudEvent, e.g. callbackEvent('CallConnected', id). */
export function callbackEvent(
  type: string,
  callConnectionId: string,
  data: Record<string, unknown> = {},
  id: string = randomUUID(),
) {
  return {
    id,
    source: `calling/callConnections/${callConnectionId}`,
    type: `Microsoft.Communication.${type}`,
    specversion: '1.0',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    subject: `calling/callConnections/${callConnectionId}`,
    data: {
      callConnectionId,
      serverCallId: `server-${callConnectionId}`,
      correlationId: randomUUID(),
      ...data,
    },
  };
}

/** POST JSON (or a raw string body) and return status, headers and parsed body. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests inspect response fields directly
): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}
