import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppConfig } from '../../config';
import { withTimeout } from '../../common/errors';
import { KeyedSerial } from '../../common/keyed-serial';
import { runWithLogFields } from '../../logging/log-context';
import { ROOT_LOGGER } from '../../logging/root-logger.token';
import { SessionWriteQueue } from '../../session/session-write-queue';
import { CallLeases } from '../call-leases';
import { CallRegistry, type CallRecord, type CallPatch } from '../call-registry';
import { CallEventBus } from '../events/call-event-bus';
import { recognizedDigits, type CallEvent, type CallEventType } from '../events/call-events';
import { CallAutomation } from '../ports/call-automation.port';

/** What ACS plays before hanging up when the call cannot go on (media streaming failed for good). */
export const APOLOGY_TEXT =
  'We are sorry, we are having technical difficulties and have to end this call. Please call again later.';
/** operationContext of voxline's own play and recognize operations. */
export const GOODBYE_CONTEXT = 'voxline:goodbye';
export const RECOGNIZE_CONTEXT_PREFIX = 'voxline:recognize';
/** How long the apology may play before the hang-up goes ahead anyway. */
const APOLOGY_MAX_MS = 10_000;

interface EventContext {
  event: CallEvent;
  call: CallRecord | undefined;
  /** From the stored call, else the callback URL's session hint. */
  sessionId: string | undefined;
  log: Logger;
}

type Handler = (ctx: EventContext) => Promise<void>;

const describeResult = (e: CallEvent) =>
  e.resultInformation
    ? `${e.resultInformation.message ?? 'no message'} (code ${e.resultInformation.code ?? '?'}/${e.resultInformation.subCode ?? '?'})`
    : undefined;

/**
 * One small handler per ACS event type. Events of one call run in arrival order; after its handler, each
 * event is published on the CallEventBus (the media pipeline and the dashboard subscribe there).
 */
@Injectable()
export class CallEventHandlers {
  private readonly log: Logger;
  private readonly serial = new KeyedSerial();
  private readonly background = new Set<Promise<void>>();
  /** Calls being hung up politely (a repeated failure event does not start a second apology). */
  private readonly hangingUp = new Set<string>();
  readonly counters = { dtmfIgnored: 0, mediaRetries: 0, politeHangups: 0 };

  private readonly handlers: Partial<Record<CallEventType, Handler>> = {
    CallConnected: (c) => this.onConnected(c),
    CallDisconnected: (c) => this.onDisconnected(c),
    CreateCallFailed: (c) => this.onSetupFailed(c),
    AnswerFailed: (c) => this.onSetupFailed(c),
    ParticipantsUpdated: (c) => this.onParticipants(c),
    PlayFailed: async (c) => c.log.warn({ result: describeResult(c.event) }, 'ACS play failed'),
    RecognizeCompleted: (c) => this.onRecognized(c),
    RecognizeFailed: async (c) =>
      c.log.info({ result: describeResult(c.event) }, 'DTMF recognition ended without input'),
    ContinuousDtmfRecognitionToneReceived: (c) => this.onContinuousTone(c),
    MediaStreamingStarted: async (c) => this.note(c, 'media streaming started'),
    MediaStreamingStopped: async (c) => this.note(c, 'media streaming stopped'),
    MediaStreamingFailed: (c) => this.onMediaFailed(c),
    CallTransferAccepted: (c) => this.onTransferAccepted(c),
    CallTransferFailed: async (c) => c.log.warn({ result: describeResult(c.event) }, 'call transfer failed'),
    RecordingStateChanged: (c) => this.onRecordingState(c),
  };

  constructor(
    private readonly config: AppConfig,
    private readonly automation: CallAutomation,
    private readonly calls: CallRegistry,
    private readonly leases: CallLeases,
    private readonly writer: SessionWriteQueue,
    private readonly bus: CallEventBus,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ module: 'call-events' });
  }

  /** Handles one event after the previous events of the same call, then publishes it. */
  handle(event: CallEvent): Promise<void> {
    const key = event.callConnectionId;
    return this.serial.run(key, () =>
      runWithLogFields({ callConnectionId: key }, () => this.dispatch(event)),
    );
  }

  /** Resolves when detached work (polite hang-ups) is done or `timeoutMs` passes. */
  async drain(timeoutMs: number): Promise<void> {
    await withTimeout(Promise.allSettled([...this.background]), timeoutMs, 'call event drain').catch(
      () => undefined,
    );
  }

  private async dispatch(event: CallEvent): Promise<void> {
    const call = await this.calls.get(event.callConnectionId);
    const sessionId = call?.sessionId ?? event.sessionId;
    const log = this.log.child({ sessionId, eventType: event.type, eventId: event.id });
    const handler = this.handlers[event.type];
    try {
      if (handler) await handler({ event, call, sessionId, log });
      else log.debug('ACS event');
    } finally {
      await this.bus.publish(sessionId && !event.sessionId ? { ...event, sessionId } : event);
    }
  }

  private note({ event, log }: EventContext, msg: string): void {
    log.info({ result: describeResult(event) }, msg);
  }

  private async patch(ctx: EventContext, patch: CallPatch): Promise<CallRecord | undefined> {
    const updated = await this.calls.patch(ctx.event.callConnectionId, patch);
    if (!updated) ctx.log.warn('event for a call this service has no record of (expired or not ours)');
    return updated;
  }

  private async onConnected(ctx: EventContext): Promise<void> {
    const { event, sessionId, log } = ctx;
    const call = await this.patch(ctx, {
      status: 'connected',
      connectedAt: event.time ?? new Date().toISOString(),
      ...(event.serverCallId ? { serverCallId: event.serverCallId } : {}),
    });
    if (sessionId) {
      this.leases.connected(sessionId);
      this.writer.update(sessionId, { state: 'active', callConnectionId: event.callConnectionId });
    }
    log.info({ direction: call?.direction }, 'call connected');
    const serverCallId = event.serverCallId ?? call?.serverCallId;
    if ((call?.record ?? this.config.acs.recordCalls) && serverCallId) {
      try {
        const { recordingId } = await this.automation.startRecording(serverCallId);
        await this.calls.patch(event.callConnectionId, { recordingId });
        log.info({ recordingId }, 'recording started');
      } catch (err) {
        // The conversation goes on without a recording; the failure is visible in logs and the call record.
        log.error({ err }, 'recording could not be started');
        await this.calls.patch(event.callConnectionId, { recordingState: 'failed' });
      }
    }
  }

  private async onDisconnected(ctx: EventContext): Promise<void> {
    const { event, call, sessionId, log } = ctx;
    const at = event.time ?? new Date().toISOString();
    const ended = call?.status === 'transferred' ? 'transferred' : 'ended';
    await this.patch(ctx, {
      status: ended,
      endedAt: at,
      ...(describeResult(event) ? { endReason: describeResult(event) } : {}),
    });
    if (sessionId) {
      this.leases.release(sessionId);
      this.writer.appendHistory(sessionId, { role: 'system', text: 'call disconnected', at });
      this.writer.update(sessionId, { state: 'ended', endedAt: at });
    }
    log.info(
      { durationMs: call?.connectedAt ? Date.parse(at) - Date.parse(call.connectedAt) : undefined },
      'call disconnected',
    );
  }

  private async onSetupFailed(ctx: EventContext): Promise<void> {
    const { event, sessionId, log } = ctx;
    const at = event.time ?? new Date().toISOString();
    const reason = describeResult(event) ?? event.type;
    await this.patch(ctx, { status: 'failed', endedAt: at, endReason: reason });
    if (sessionId) {
      this.leases.release(sessionId);
      this.writer.appendHistory(sessionId, { role: 'system', text: `call failed: ${reason}`, at });
      this.writer.update(sessionId, { state: 'ended', endedAt: at });
    }
    log.warn(
      { result: reason },
      event.type === 'AnswerFailed' ? 'answering the call failed' : 'dial-out failed',
    );
  }

  private async onParticipants(ctx: EventContext): Promise<void> {
    const participants = Array.isArray(ctx.event.data.participants)
      ? ctx.event.data.participants.length
      : undefined;
    if (participants !== undefined) await this.patch(ctx, { participants });
    ctx.log.debug({ participants }, 'participants updated');
  }

  /** Digits from an explicit recognize operation of ours reach the conversation (via the bus). */
  private async onRecognized({ event, log }: EventContext): Promise<void> {
    if (!event.operationContext?.startsWith(RECOGNIZE_CONTEXT_PREFIX)) {
      log.debug(
        { operationContext: event.operationContext },
        'recognize result of an operation we did not start',
      );
      return;
    }
    const digits = recognizedDigits(event);
    log.info({ digitCount: digits?.length ?? 0 }, 'DTMF recognized');
  }

  /**
   * The media stream carries tones (enableDtmfTones), so it is the source of caller digits; a tone that
   * also arrives through continuous recognition is not used twice.
   */
  private async onContinuousTone({ log }: EventContext): Promise<void> {
    this.counters.dtmfIgnored++;
    log.debug('continuous DTMF tone ignored: the media stream carries the caller digits');
  }

  private async onMediaFailed(ctx: EventContext): Promise<void> {
    const { event, call, log } = ctx;
    log.error(
      {
        code: event.resultInformation?.code,
        subCode: event.resultInformation?.subCode,
        result: describeResult(event),
        policy: this.config.acs.mediaFailurePolicy,
      },
      'media streaming failed',
    );
    const retries = call?.mediaRetries ?? 0;
    if (this.config.acs.mediaFailurePolicy === 'retry' && retries < 1) {
      await this.patch(ctx, { mediaRetries: retries + 1 });
      this.counters.mediaRetries++;
      try {
        await this.automation.startMediaStreaming(event.callConnectionId);
        log.info('media streaming restarted');
        return;
      } catch (err) {
        log.error({ err }, 'media streaming could not be restarted');
      }
    }
    this.politeHangUp(ctx);
  }

  /**
   * Apologises through ACS (it plays the text itself: our media stream is gone), then hangs up for
   * everyone. Runs detached: the PlayCompleted it waits for is an event of this same call.
   */
  private politeHangUp({ event, log }: EventContext): void {
    const callId = event.callConnectionId;
    if (this.hangingUp.has(callId)) {
      log.debug('polite hang-up already in progress');
      return;
    }
    this.hangingUp.add(callId);
    this.counters.politeHangups++;
    let off: () => void = () => undefined;
    let timer: NodeJS.Timeout | undefined;
    const played = new Promise<void>((resolve) => {
      off = this.bus.on('*', (e) => {
        if (
          e.callConnectionId === callId &&
          e.operationContext === GOODBYE_CONTEXT &&
          /^Play(Completed|Failed|Canceled)$/.test(e.type)
        )
          resolve();
      });
      timer = setTimeout(resolve, APOLOGY_MAX_MS);
      timer.unref();
    });
    const task = (async () => {
      try {
        await this.automation.playText(callId, { text: APOLOGY_TEXT, operationContext: GOODBYE_CONTEXT });
        await played;
      } catch (err) {
        log.warn({ err }, 'apology could not be played; hanging up without it');
      } finally {
        off();
        clearTimeout(timer);
      }
      try {
        await this.automation.hangUp(callId, true);
        log.info('call ended after media streaming failure');
      } catch (err) {
        log.error({ err }, 'hang-up after media streaming failure failed');
      }
    })();
    this.background.add(task);
    void task.finally(() => {
      this.background.delete(task);
      this.hangingUp.delete(callId);
    });
  }

  private async onTransferAccepted(ctx: EventContext): Promise<void> {
    await this.patch(ctx, { status: 'transferred' });
    if (ctx.sessionId) {
      this.writer.appendHistory(ctx.sessionId, {
        role: 'system',
        text: 'call transferred',
        at: ctx.event.time ?? new Date().toISOString(),
      });
    }
    ctx.log.info('call transfer accepted');
  }

  private async onRecordingState(ctx: EventContext): Promise<void> {
    const state = typeof ctx.event.data.state === 'string' ? ctx.event.data.state : undefined;
    const recordingId =
      typeof ctx.event.data.recordingId === 'string' ? ctx.event.data.recordingId : undefined;
    if (state) await this.patch(ctx, { recordingState: state, ...(recordingId ? { recordingId } : {}) });
    ctx.log.info({ state, recordingId }, 'recording state changed');
  }
}
