import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { LoopbackServer } from './loopback-server';

/**
 * A local ACS Call Automation REST endpoint, accurate enough for the real
 * `@azure/communication-call-automation` client: it verifies the HMAC-SHA256 signature of every request
 * (401 otherwise), records what was asked, and answers with the statuses the SDK accepts (it matches them
 * strictly). The next request can be scripted to fail with an ACS error body or to hang (slow ACS).
 */

export interface AcsRecordedRequest {
  method: string;
  /** Path without the query, e.g. `/calling/callConnections/abc:play`. */
  path: string;
  /** Query parameters, including `api-version`. */
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown> | undefined;
  /** Status we answered (undefined while hanging). */
  status?: number;
  /** The client went away before we answered (an aborted request). */
  closedByClient: boolean;
}

export type AcsScriptedResponse =
  | { kind: 'error'; status: number; code: string; message: string }
  /** Accept the request and never answer. */
  | { kind: 'hang' };

/** Max clock skew between the x-ms-date header and now, as ACS allows. */
const MAX_SKEW_MS = 15 * 60 * 1000;
const CONNECTION_ACTION = /^\/calling\/callConnections\/([^/:]+):(\w+)$/;
const CONNECTION = /^\/calling\/callConnections\/([^/:]+)$/;

export class AcsRestFake {
  readonly requests: AcsRecordedRequest[] = [];
  /** Requests refused with 401 (bad or missing signature); not part of `requests`. */
  readonly unauthorized: AcsRecordedRequest[] = [];
  /** A random key per fake, base64 as in a real connection string. */
  readonly accessKey = randomBytes(32).toString('base64');
  private readonly script: AcsScriptedResponse[] = [];
  private loopback: LoopbackServer | undefined;

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(parts).toString('utf8');
        const url = new URL(req.url ?? '/', 'http://fake');
        const record: AcsRecordedRequest = {
          method: req.method ?? '',
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          headers: req.headers,
          body: raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined,
          closedByClient: false,
        };
        res.on('close', () => {
          if (!res.writableFinished) record.closedByClient = true;
        });
        const authProblem = this.verifySignature(req.method ?? '', req.url ?? '/', req.headers, raw);
        if (authProblem) {
          this.unauthorized.push(record);
          send(res, record, 401, { error: { code: 'Unauthorized', message: authProblem } });
          return;
        }
        this.requests.push(record);
        if (!record.query['api-version']) {
          send(res, record, 400, {
            error: { code: 'MissingApiVersionParameter', message: 'api-version is required' },
          });
          return;
        }
        const scripted = this.script.shift();
        if (scripted?.kind === 'hang') return;
        if (scripted?.kind === 'error') {
          send(res, record, scripted.status, { error: { code: scripted.code, message: scripted.message } });
          return;
        }
        this.route(record, res);
      });
    });
    this.loopback = await new LoopbackServer(server).listen();
    return this;
  }

  /** Base URL, e.g. `http://127.0.0.1:1234/`. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.loopback!.port}/`;
  }

  /** `endpoint=http://127.0.0.1:PORT/;accesskey=<base64>`; pass another key to get signatures refused. */
  connectionString(accessKey = this.accessKey): string {
    return `endpoint=${this.endpoint};accesskey=${accessKey}`;
  }

  /** The next request fails with an ACS error body `{"error":{"code","message"}}` and this status. */
  failNext(status: number, code: string, message: string): this {
    this.script.push({ kind: 'error', status, code, message });
    return this;
  }

  /** The next request is accepted and never answered. */
  hangNext(): this {
    this.script.push({ kind: 'hang' });
    return this;
  }

  /** The last recorded (authenticated) request. */
  get last(): AcsRecordedRequest {
    const last = this.requests.at(-1);
    if (!last) throw new Error('fake ACS: no request recorded');
    return last;
  }

  reset(): void {
    this.script.length = 0;
    this.requests.length = 0;
    this.unauthorized.length = 0;
  }

  async close(): Promise<void> {
    await this.loopback?.close();
  }

  /** Undefined when the request is signed with our key, else why not. */
  private verifySignature(method: string, pathAndQuery: string, headers: IncomingHttpHeaders, body: string) {
    const date = headers['x-ms-date'];
    const contentHash = headers['x-ms-content-sha256'];
    const host = headers.host;
    const authorization = headers.authorization;
    if (typeof date !== 'string' || typeof contentHash !== 'string' || !host || !authorization) {
      return 'missing x-ms-date, x-ms-content-sha256, host or Authorization';
    }
    const at = Date.parse(date);
    if (Number.isNaN(at) || Math.abs(Date.now() - at) > MAX_SKEW_MS) return 'x-ms-date is invalid or too old';
    if (createHash('sha256').update(body, 'utf8').digest('base64') !== contentHash) {
      return 'x-ms-content-sha256 does not match the body';
    }
    const match = /^HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=(.+)$/.exec(
      authorization,
    );
    if (!match) return 'Authorization is not HMAC-SHA256 with the expected signed headers';
    const stringToSign = `${method.toUpperCase()}\n${pathAndQuery}\n${date};${host};${contentHash}`;
    const expected = createHmac('sha256', Buffer.from(this.accessKey, 'base64'))
      .update(stringToSign)
      .digest();
    const given = Buffer.from(match[1], 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'signature mismatch';
    return undefined;
  }

  private route(record: AcsRecordedRequest, res: ServerResponse): void {
    const { method, path } = record;
    const body = record.body ?? {};
    if (method === 'POST' && path === '/calling/callConnections:answer') {
      send(res, record, 200, this.connection(body, { callConnectionState: 'connecting' }));
      return;
    }
    if (method === 'POST' && path === '/calling/callConnections') {
      const targets = (body.targets as Record<string, unknown>[] | undefined) ?? [];
      // Modelled on ACS: a PSTN target needs a caller id (sourceCallerIdNumber). Message text is ours.
      if (targets.some((t) => t.kind === 'phoneNumber') && !body.sourceCallerIdNumber) {
        send(res, record, 400, {
          error: { code: '8523', message: 'Invalid request: a PSTN target requires sourceCallerIdNumber.' },
        });
        return;
      }
      send(res, record, 201, this.connection(body, { callConnectionState: 'connecting', targets }));
      return;
    }
    if (
      method === 'POST' &&
      (path === '/calling/callConnections:reject' || path === '/calling/callConnections:redirect')
    ) {
      send(res, record, 204);
      return;
    }
    if (method === 'POST' && path === '/calling/recordings') {
      send(res, record, 200, {
        recordingId: `rec-${randomUUID()}`,
        recordingKind: 'azureCommunicationServices',
        recordingState: 'active',
      });
      return;
    }
    if (method === 'DELETE' && CONNECTION.test(path)) {
      send(res, record, 204);
      return;
    }
    const action = method === 'POST' ? CONNECTION_ACTION.exec(path) : null;
    switch (action?.[2]) {
      case 'terminate':
        send(res, record, 204);
        return;
      case 'play':
      case 'recognize':
      case 'startMediaStreaming':
      case 'stopMediaStreaming':
        send(res, record, 202);
        return;
      case 'transferToParticipant':
        send(res, record, 202, { operationContext: body.operationContext });
        return;
    }
    send(res, record, 404, { error: { code: '8522', message: `fake ACS: no route for ${method} ${path}` } });
  }

  private connection(body: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
    return {
      callConnectionId: randomUUID(),
      serverCallId: `server-${randomUUID()}`,
      correlationId: randomUUID(),
      callbackUri: body.callbackUri,
      ...extra,
    };
  }
}

function send(res: ServerResponse, record: AcsRecordedRequest, status: number, body?: unknown): void {
  record.status = status;
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
