import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppConfig, type StreamingMode } from '../config';
import { DomainError, isDomainError } from '../common/errors';
import { LLM_ENGINE } from '../llm/llm.module';
import type { LlmEngine } from '../llm/llm.factory';
import { ROOT_LOGGER } from '../logging/root-logger.token';
import { maskPhone } from '../logging/redact';
import { SessionStore } from '../session/session-store';
import { LOCAL_CALL_PREFIX } from './automation/local-call-automation';
import { CallLeases } from './call-leases';
import { CallRegistry, type CallRecord } from './call-registry';
import { CallUrls } from './call-urls';
import { CallEventBus } from './events/call-event-bus';
import type { IncomingCall } from './incoming/event-grid';
import { CallAutomation, type MediaStreamingSpec } from './ports/call-automation.port';

export interface DialRequest {
  targetNumber: string;
  scenario?: string;
  streamingMode?: StreamingMode;
  record?: boolean;
}

export type IncomingOutcome =
  | { eventId: string; status: 'answered'; callConnectionId: string; sessionId: string }
  | { eventId: string; status: 'rejected'; reason: 'blocked' | 'busy' }
  | { eventId: string; status: 'duplicate' }
  | { eventId: string; status: 'failed'; code: string; reason: string };

const DEDUPE_TTL_SECONDS = 24 * 3600;

/**
 * Call control use cases: dial out, answer Event Grid IncomingCalls, hang up and transfer. Every call
 * gets a session first; the call↔session mapping and the call's settings go to the session store so
 * any replica can serve its media socket and callbacks.
 */
@Injectable()
export class CallsService {
  private readonly log: Logger;
  private readonly blocked: ReadonlySet<string>;

  constructor(
    private readonly config: AppConfig,
    private readonly automation: CallAutomation,
    private readonly store: SessionStore,
    private readonly calls: CallRegistry,
    private readonly urls: CallUrls,
    private readonly leases: CallLeases,
    private readonly bus: CallEventBus,
    @Inject(LLM_ENGINE) private readonly llm: LlmEngine,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ module: 'calls' });
    this.blocked = new Set(config.acs.blockList);
  }

  async dial(request: DialRequest): Promise<CallRecord> {
    if (this.automation.driver === 'local') {
      throw new DomainError(
        'NOT_AVAILABLE',
        'dialling out needs ACS: set ACS_CONNECTION_STRING (and PUBLIC_BASE_URL)',
      );
    }
    const scenario = this.scenarioOf(request.scenario);
    const streamingMode = request.streamingMode ?? this.config.media.streamingMode;
    const sessionId = randomUUID();
    this.leases.acquire(sessionId);
    try {
      await this.store.create({ id: sessionId, scenario });
      const startedAt = new Date().toISOString();
      const connection = await this.automation
        .createCall({
          targetNumber: request.targetNumber,
          callerId: this.config.acs.callerId,
          callbackUri: this.urls.callbackUri(sessionId),
          media: this.mediaSpec(sessionId),
          operationContext: sessionId,
        })
        .catch((err: unknown) => {
          throw this.explainDialFailure(err);
        });
      const record: CallRecord = {
        callConnectionId: connection.callConnectionId,
        sessionId,
        direction: 'outbound',
        status: 'connecting',
        scenario,
        streamingMode,
        record: request.record ?? this.config.acs.recordCalls,
        to: request.targetNumber,
        ...(this.config.acs.callerId ? { from: this.config.acs.callerId } : {}),
        startedAt,
        serverCallId: connection.serverCallId,
        correlationId: connection.correlationId,
      };
      await this.calls.create(record);
      await this.store.update(sessionId, { callConnectionId: connection.callConnectionId });
      this.log.info(
        {
          callConnectionId: connection.callConnectionId,
          sessionId,
          target: maskPhone(request.targetNumber),
          scenario,
          streamingMode,
        },
        'dialling out',
      );
      return record;
    } catch (err) {
      await this.abandonSetup(sessionId);
      throw err;
    }
  }

  /** Answers (or rejects) one IncomingCall of an Event Grid batch. Never throws: the outcome says what happened. */
  async answerIncoming(call: IncomingCall): Promise<IncomingOutcome> {
    const eventId = call.id;
    const from = call.from ? maskPhone(call.from) : undefined;
    try {
      if (!(await this.store.claimOnce(`eventgrid:${eventId}`, DEDUPE_TTL_SECONDS))) {
        return { eventId, status: 'duplicate' };
      }
      if (call.from && this.blocked.has(call.from)) {
        await this.automation.rejectCall(call.incomingCallContext, 'forbidden');
        this.log.info({ eventId, from }, 'incoming call rejected: caller is on the block list');
        return { eventId, status: 'rejected', reason: 'blocked' };
      }
      const sessionId = randomUUID();
      try {
        this.leases.acquire(sessionId);
      } catch (err) {
        if (!isDomainError(err) || (err.code !== 'CAPACITY_EXCEEDED' && err.code !== 'DRAINING')) throw err;
        await this.automation.rejectCall(call.incomingCallContext, 'busy');
        this.log.warn({ eventId, from, reason: err.code }, 'incoming call rejected as busy');
        return { eventId, status: 'rejected', reason: 'busy' };
      }
      return await this.answer(call, sessionId);
    } catch (err) {
      const code = isDomainError(err) ? err.code : 'INTERNAL';
      const reason = err instanceof Error ? err.message : String(err);
      this.log.error({ eventId, from, err }, 'incoming call could not be answered');
      return { eventId, status: 'failed', code, reason };
    }
  }

  private async answer(call: IncomingCall, sessionId: string): Promise<IncomingOutcome> {
    const scenario = this.llm.defaultScenario;
    try {
      await this.store.create({ id: sessionId, scenario });
      const startedAt = new Date().toISOString();
      const connection = await this.automation.answerCall({
        incomingCallContext: call.incomingCallContext,
        callbackUri: this.urls.callbackUri(sessionId),
        media: this.mediaSpec(sessionId),
        operationContext: sessionId,
      });
      await this.calls.create({
        callConnectionId: connection.callConnectionId,
        sessionId,
        direction: 'inbound',
        status: 'connecting',
        scenario,
        streamingMode: this.config.media.streamingMode,
        record: this.config.acs.recordCalls,
        from: call.from,
        to: call.to,
        startedAt,
        serverCallId: connection.serverCallId ?? call.serverCallId,
        correlationId: connection.correlationId ?? call.correlationId,
      });
      await this.store.update(sessionId, { callConnectionId: connection.callConnectionId });
      this.log.info(
        {
          callConnectionId: connection.callConnectionId,
          sessionId,
          from: call.from ? maskPhone(call.from) : undefined,
        },
        'incoming call answered',
      );
      return {
        eventId: call.id,
        status: 'answered',
        callConnectionId: connection.callConnectionId,
        sessionId,
      };
    } catch (err) {
      await this.abandonSetup(sessionId);
      throw err;
    }
  }

  async get(callConnectionId: string): Promise<CallRecord> {
    const call = await this.calls.get(callConnectionId);
    if (!call) throw new DomainError('CALL_NOT_FOUND', `no call ${callConnectionId} (unknown or expired)`);
    return call;
  }

  listActive(): Promise<CallRecord[]> {
    return this.calls.listActive();
  }

  /** Ends the call for every participant. A call without ACS (local media session) is ended locally. */
  async hangUp(callConnectionId: string, reason: string): Promise<CallRecord> {
    const call = await this.get(callConnectionId);
    if (call.status === 'ended' || call.status === 'failed') return call;
    await this.automation.hangUp(callConnectionId, true);
    this.log.info({ callConnectionId, sessionId: call.sessionId, reason }, 'hang-up requested');
    if (callConnectionId.startsWith(LOCAL_CALL_PREFIX)) {
      // No ACS will send CallDisconnected: announce it ourselves so the media socket closes.
      await this.bus.publish({
        type: 'CallDisconnected',
        id: `local-${randomUUID()}`,
        callConnectionId,
        sessionId: call.sessionId,
        data: { callConnectionId, reason },
      });
    }
    return call;
  }

  async transfer(callConnectionId: string, target: string | undefined): Promise<CallRecord> {
    const call = await this.get(callConnectionId);
    if (call.status !== 'connected' && call.status !== 'connecting') {
      throw new DomainError(
        'CONFLICT',
        `call ${callConnectionId} is ${call.status}: it cannot be transferred`,
      );
    }
    const to = target ?? this.config.acs.transferTarget;
    if (!to) {
      throw new DomainError('NOT_AVAILABLE', 'no transfer target given and TRANSFER_TARGET is not set');
    }
    await this.automation.transfer(callConnectionId, to);
    this.log.info(
      { callConnectionId, sessionId: call.sessionId, target: to.startsWith('+') ? maskPhone(to) : to },
      'transfer requested',
    );
    return call;
  }

  /** A call that failed to set up gives back its slot and its session ends. */
  private async abandonSetup(sessionId: string): Promise<void> {
    this.leases.release(sessionId);
    await this.store
      .update(sessionId, { state: 'ended', endedAt: new Date().toISOString() })
      .catch(() => undefined);
  }

  private mediaSpec(sessionId: string): MediaStreamingSpec {
    return {
      transportUrl: this.urls.mediaTransportUrl(sessionId),
      audioFormat: this.config.media.audioFormat,
      startMediaStreaming: true,
      enableBidirectional: true,
      enableDtmfTones: true,
    };
  }

  private scenarioOf(name: string | undefined): string {
    const scenario = name ?? this.llm.defaultScenario;
    if (!this.llm.scenarios.has(scenario)) {
      throw new DomainError(
        'VALIDATION_FAILED',
        `scenario must be one of: ${[...this.llm.scenarios.keys()].join(', ')}`,
      );
    }
    return scenario;
  }

  /** ACS rejects PSTN targets without a caller id: say so when ACS_CALLER_ID is unset. */
  private explainDialFailure(err: unknown): unknown {
    if (!isDomainError(err) || err.code !== 'PROVIDER_ERROR' || this.config.acs.callerId) return err;
    return new DomainError(
      'PROVIDER_ERROR',
      `${err.message} (ACS_CALLER_ID is not set: ACS needs a caller id to dial a phone number)`,
      err.details,
      { cause: err },
    );
  }
}
