import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Inject } from '@nestjs/common';
import { WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import { context, SpanKind, trace, type Span } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { AppConfig } from '../config';
import { DomainError, isDomainError } from '../common/errors';
import { WsUpgradePolicies } from '../common/ws/ws-upgrade-policies';
import { LOCAL_CALL_PREFIX } from '../calls/automation/local-call-automation';
import { CallEventBus } from '../calls/events/call-event-bus';
import { AcsJwtVerifier } from '../calls/security/acs-jwt-verifier';
import { CallAdmission, type CallLease } from '../lifecycle/call-admission.service';
import { ROOT_LOGGER } from '../logging/root-logger.token';
import { SessionStore } from '../session/session-store';
import type { CallSettings } from '../session/session.types';
import { recordSpanError, startSpan } from '../telemetry/spans';
import { AcsMediaDecoder, type CodecErrorCode, type InboundFrame } from './codec/acs-media-codec';
import type { MediaCallHandler, MediaConnection } from './media-call';
import { MediaStats } from './media-stats';
import { StreamingModeSelector } from './strategies/streaming-mode.selector';

export const MEDIA_PATH = '/api/v1/media/stream';
/** How long a media socket waits for call control to write its call ↔ session mapping. */
const MAPPING_WAIT_MS = 2000;
const MAPPING_POLL_MS = 50;
/** Frames kept while the call is being set up (session lookup, engines); 5 s of audio. */
const SETUP_BUFFER_FRAMES = 250;
const CALL_ID = /^[\w.:-]{1,128}$/;
/** Messages are text frames, also when the cascade hands over their UTF-8 bytes as a Buffer. */
const TEXT_FRAME = { binary: false } as const;

interface CallIds {
  callConnectionId: string;
  /** The id came from ACS (header) or a client (query): call control may be writing its mapping. */
  given: boolean;
  sessionHint?: string;
  modeQuery: string | null;
}

/**
 * WS /api/v1/media/stream — the ACS media streaming protocol. Resolves the call's session, takes a
 * capacity slot, hands decoded frames to the streaming-mode strategy, and keeps bad input local:
 * malformed frames are counted and logged (rate-limited) and the call goes on; an oversized frame
 * closes with 1009; a silent socket is closed after MEDIA_IDLE_TIMEOUT_SECONDS.
 */
@WebSocketGateway({ path: MEDIA_PATH })
export class MediaGateway implements OnGatewayConnection {
  private readonly log: Logger;
  private readonly socketDeps: MediaSocketDeps;

  constructor(
    config: AppConfig,
    store: SessionStore,
    admission: CallAdmission,
    selector: StreamingModeSelector,
    bus: CallEventBus,
    stats: MediaStats,
    jwt: AcsJwtVerifier,
    policies: WsUpgradePolicies,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ module: 'media' });
    this.socketDeps = { config, store, admission, selector, bus, stats };
    policies.set(MEDIA_PATH, {
      maxPayload: config.media.maxFrameBytes,
      ...(jwt.enabled ? { verify: async (req) => void (await jwt.verify(req.headers.authorization)) } : {}),
    });
  }

  handleConnection(socket: WebSocket, request: IncomingMessage): void {
    let ids: CallIds;
    try {
      ids = this.idsOf(request);
    } catch (err) {
      socket.close(1008, reasonOf(err));
      return;
    }
    new MediaSocket(socket, ids, this.socketDeps, this.log).start();
  }

  private idsOf(request: IncomingMessage): CallIds {
    const url = new URL(request.url ?? '/', 'http://media');
    const header = request.headers['x-ms-call-connection-id'];
    const fromHeader = Array.isArray(header) ? header[0] : header;
    const given = fromHeader ?? url.searchParams.get('call_connection_id') ?? undefined;
    if (given !== undefined && !CALL_ID.test(given)) {
      throw new DomainError('BAD_REQUEST', 'call connection id must be 1–128 letters, digits, . : _ -');
    }
    const session = url.searchParams.get('session') ?? undefined;
    if (session !== undefined && !CALL_ID.test(session)) {
      throw new DomainError('BAD_REQUEST', 'session must be 1–128 letters, digits, . : _ -');
    }
    return {
      callConnectionId: given ?? `${LOCAL_CALL_PREFIX}${randomUUID()}`,
      given: given !== undefined,
      sessionHint: session,
      modeQuery: url.searchParams.get('streaming_mode'),
    };
  }
}

interface MediaSocketDeps {
  config: AppConfig;
  store: SessionStore;
  admission: CallAdmission;
  selector: StreamingModeSelector;
  bus: CallEventBus;
  stats: MediaStats;
}

/** One media socket's life: setup, frame routing, bad-input accounting, teardown. */
class MediaSocket {
  private readonly decoder: AcsMediaDecoder;
  private readonly pending: Array<{ data: RawData; isBinary: boolean }> = [];
  private handler: MediaCallHandler | undefined;
  private lease: CallLease | undefined;
  private span: Span | undefined;
  private log: Logger;
  private lastMessageAt = performance.now();
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private offBus: (() => void) | undefined;
  private readonly rejected = new Map<CodecErrorCode, number>();
  private lastRejectLogAt = 0;
  private frames = 0;

  constructor(
    private readonly socket: WebSocket,
    private readonly ids: CallIds,
    private readonly deps: MediaSocketDeps,
    root: Logger,
  ) {
    this.decoder = new AcsMediaDecoder({ maxFrameChars: deps.config.media.maxFrameBytes });
    this.log = root.child({ callConnectionId: ids.callConnectionId });
  }

  start(): void {
    const { stats } = this.deps;
    stats.sockets++;
    this.socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    this.socket.on(
      'close',
      (code, reason) =>
        void this.teardown(`socket closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`),
    );
    this.socket.on('error', (err) => this.log.warn({ err }, 'media socket error'));
    this.armIdleCheck();
    void this.setup().catch((err: unknown) => {
      this.log.warn({ err }, 'media call could not start');
      this.close(isDomainError(err) ? err.wsCloseCode : 1011, reasonOf(err));
    });
  }

  private async setup(): Promise<void> {
    // The call's root span, and a SERVER span for accepting the socket (session, admission, strategy).
    this.span = startSpan('call', SpanKind.INTERNAL, {
      attributes: { 'rt.call.connection_id': this.ids.callConnectionId },
    });
    const accept = startSpan(`WS ${MEDIA_PATH}`, SpanKind.SERVER, {
      parent: trace.setSpan(context.active(), this.span),
      attributes: { 'url.path': MEDIA_PATH, 'network.protocol.name': 'websocket' },
    });
    try {
      await this.accept(accept);
    } catch (err) {
      recordSpanError(accept, err);
      throw err;
    } finally {
      accept.end();
    }
  }

  private async accept(accept: Span): Promise<void> {
    const { admission, selector, bus } = this.deps;
    const { sessionId, settings } = await this.resolveSession();
    if (this.closed) return;
    this.log = this.log.child({ sessionId });
    this.span!.setAttribute('rt.session.id', sessionId);
    accept.setAttribute('rt.session.id', sessionId);
    try {
      this.lease = admission.admit(sessionId);
    } catch (err) {
      // 1013 "try again later": this replica is full (or 1001 while draining).
      this.close(isDomainError(err) ? err.wsCloseCode : 1013, reasonOf(err));
      return;
    }
    const mode = selector.modeFor(settings.streamingMode, this.ids.modeQuery);
    const strategy = selector.strategy(mode);
    this.span!.setAttribute('rt.streaming_mode', mode);
    const span = this.span!;
    const socket = this.socket;
    const connection: MediaConnection = {
      callConnectionId: this.ids.callConnectionId,
      sessionId,
      mode,
      settings,
      log: this.log,
      span,
      send: (message, onWritten) => {
        if (socket.readyState !== socket.OPEN) return false;
        socket.send(message, TEXT_FRAME, onWritten);
        return true;
      },
      get bufferedAmount() {
        return socket.bufferedAmount;
      },
      close: (code, reason) => this.close(code, reason),
    };
    const handler = await strategy.start(connection);
    if (this.closed) {
      await handler.close('socket closed during setup');
      return;
    }
    this.handler = handler;
    this.offBus = bus.on('CallDisconnected', (e) => {
      if (e.callConnectionId === this.ids.callConnectionId) this.close(1000, 'call disconnected');
    });
    this.log.info({ mode, direction: settings.direction }, 'media call started');
    for (const { data, isBinary } of this.pending.splice(0)) this.route(data, isBinary);
  }

  /** Session from the call ↔ session map (waiting briefly for call control), the URL hint, or a new one. */
  private async resolveSession(): Promise<{ sessionId: string; settings: CallSettings }> {
    const { store } = this.deps;
    const { callConnectionId, given, sessionHint } = this.ids;
    // ACS ids: call control may still be writing the mapping. Local ids (local calls, the simulator)
    // are mapped before media connects, or never.
    const local = callConnectionId.startsWith(LOCAL_CALL_PREFIX);
    const deadline = performance.now() + (given && !local ? MAPPING_WAIT_MS : 0);
    for (;;) {
      const mapping = await store.findCall(callConnectionId);
      if (mapping) return { sessionId: mapping.sessionId, settings: mapping.settings };
      if (sessionHint && (await store.get(sessionHint))) {
        await store.mapCall(callConnectionId, sessionHint, { direction: 'inbound' });
        return { sessionId: sessionHint, settings: {} };
      }
      if (performance.now() >= deadline || this.closed) break;
      await new Promise((r) => setTimeout(r, MAPPING_POLL_MS));
    }
    const session = await store.create({ callConnectionId });
    const settings: CallSettings = { direction: given && !local ? 'inbound' : 'local' };
    await store.mapCall(callConnectionId, session.id, settings);
    return { sessionId: session.id, settings };
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    this.lastMessageAt = performance.now();
    if (this.handler) this.route(data, isBinary);
    else if (this.pending.length < SETUP_BUFFER_FRAMES) this.pending.push({ data, isBinary });
    else this.reject('too_large', 'frame dropped: call setup backlog is full');
  }

  private route(data: RawData, isBinary: boolean): void {
    this.frames++;
    const raw = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const result = this.decoder.decode(raw, isBinary);
    if (!result.ok) {
      this.reject(result.error.code, result.error.reason);
      return;
    }
    try {
      this.handler!.onFrame(result.frame as InboundFrame);
    } catch (err) {
      // A handler bug on one frame must not end the call: count it and go on.
      this.deps.stats.handlerErrors++;
      this.log.error({ err, kind: result.frame.kind }, 'media frame handler failed');
    }
  }

  /** Counted always; logged the first time per reason, then at most every 10 s per call. */
  private reject(code: CodecErrorCode, reason: string): void {
    const { stats } = this.deps;
    stats.rejectFrame(code);
    const seen = (this.rejected.get(code) ?? 0) + 1;
    this.rejected.set(code, seen);
    const now = performance.now();
    if (seen === 1 || now - this.lastRejectLogAt > 10_000) {
      this.lastRejectLogAt = now;
      this.log.warn({ reason, code, count: seen }, 'media frame rejected');
    }
  }

  private armIdleCheck(): void {
    const { idleTimeoutMs } = this.deps.config.media;
    const period = Math.max(250, Math.min(5000, idleTimeoutMs / 4));
    this.idleTimer = setInterval(() => {
      if (performance.now() - this.lastMessageAt >= idleTimeoutMs) {
        this.log.warn({ idleTimeoutMs }, 'media socket idle: closing');
        this.close(1001, `no media for ${Math.round(idleTimeoutMs / 1000)} s`);
      }
    }, period);
    this.idleTimer.unref();
  }

  private close(code: number, reason: string): void {
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) {
      // Close reasons are limited to 123 bytes by the protocol.
      this.socket.close(code, Buffer.from(reason).subarray(0, 123).toString());
    }
    void this.teardown(reason);
  }

  private async teardown(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.idleTimer);
    this.offBus?.();
    this.pending.length = 0;
    const { stats } = this.deps;
    stats.sockets--;
    try {
      await this.handler?.close(reason);
    } catch (err) {
      this.log.error({ err }, 'media handler failed to close');
      if (this.span) recordSpanError(this.span, err);
    } finally {
      this.lease?.release();
      if (this.span) {
        this.span.setAttribute('rt.media.frames', this.frames);
        this.span.end();
      }
      this.log.info(
        { reason, frames: this.frames, rejected: Object.fromEntries(this.rejected) },
        'media call ended',
      );
    }
  }
}

function reasonOf(err: unknown): string {
  return isDomainError(err) ? err.message : 'internal error';
}
