import { Injectable } from '@nestjs/common';
import type { StreamingMode } from '../config';
import { KeyedSerial } from '../common/keyed-serial';
import { SessionStore } from '../session/session-store';
import type { CallSettings } from '../session/session.types';

export type CallDirection = 'inbound' | 'outbound';
export type CallStatus = 'connecting' | 'connected' | 'transferred' | 'ended' | 'failed';

/** What voxline keeps about a call, stored with the call↔session mapping so any replica can read it. */
export interface CallRecord {
  callConnectionId: string;
  sessionId: string;
  direction: CallDirection;
  status: CallStatus;
  scenario: string;
  streamingMode: StreamingMode;
  record: boolean;
  /** E.164 (or ACS raw id) of the caller / the dialled party. */
  from?: string;
  to?: string;
  startedAt: string;
  connectedAt?: string;
  endedAt?: string;
  /** Why the call ended or failed (ACS result message and code when there is one). */
  endReason?: string;
  serverCallId?: string;
  correlationId?: string;
  recordingId?: string;
  recordingState?: string;
  participants?: number;
  /** Media streaming restarts attempted after MediaStreamingFailed. */
  mediaRetries?: number;
}

export type CallPatch = Partial<Omit<CallRecord, 'callConnectionId' | 'sessionId'>>;

const ACTIVE: ReadonlySet<CallStatus> = new Set(['connecting', 'connected']);
export const isActiveCall = (c: CallRecord) => ACTIVE.has(c.status);

/** Active calls are found through recent sessions; bounded so a listing stays one Redis round trip. */
const LIST_SCAN_LIMIT = 1000;

/**
 * Call records on top of the session store's call↔session mapping. Updates of one call are serialised
 * in this process (read-modify-write of one hash), and every update keeps the mapping's TTL fresh.
 */
@Injectable()
export class CallRegistry {
  private readonly serial = new KeyedSerial();

  constructor(private readonly store: SessionStore) {}

  async create(record: CallRecord): Promise<void> {
    await this.serial.run(record.callConnectionId, () =>
      this.store.mapCall(record.callConnectionId, record.sessionId, toSettings(record)),
    );
  }

  async get(callConnectionId: string): Promise<CallRecord | undefined> {
    const mapping = await this.store.findCall(callConnectionId);
    return mapping ? fromSettings(callConnectionId, mapping.sessionId, mapping.settings) : undefined;
  }

  /** Applies `patch` to a stored call; resolves undefined when the call is unknown (or expired). */
  patch(callConnectionId: string, patch: CallPatch): Promise<CallRecord | undefined> {
    return this.serial.run(callConnectionId, async () => {
      const current = await this.get(callConnectionId);
      if (!current) return undefined;
      const next = { ...current, ...patch };
      await this.store.mapCall(callConnectionId, current.sessionId, toSettings(next));
      return next;
    });
  }

  /** Calls that are connecting or connected, most recent first. */
  async listActive(): Promise<CallRecord[]> {
    const sessions = await this.store.list({ limit: LIST_SCAN_LIMIT });
    const ids = sessions
      .filter((s) => s.state === 'active' && s.callConnectionId)
      .map((s) => s.callConnectionId!);
    const calls = await Promise.all(ids.map((id) => this.get(id)));
    return calls.filter((c): c is CallRecord => c !== undefined && isActiveCall(c));
  }
}

function toSettings(record: CallRecord): CallSettings {
  const { callConnectionId: _c, sessionId: _s, ...rest } = record;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as CallSettings;
}

function fromSettings(callConnectionId: string, sessionId: string, s: CallSettings): CallRecord {
  return {
    // Mappings written without call-control settings (e.g. a local media session) read as inbound/media.
    direction: 'inbound',
    status: 'connected',
    scenario: '',
    streamingMode: 'media',
    record: false,
    startedAt: '',
    ...(s as Partial<CallRecord>),
    callConnectionId,
    sessionId,
  };
}
