import type {
  CallMapping,
  CallSettings,
  ContextValue,
  HistoryEntry,
  NewSession,
  SessionDetail,
  SessionPatch,
  SessionRecord,
  StoreHealth,
  TurnMetrics,
} from './session.types';

/**
 * Session state port. Every method may reject with DomainError STORE_UNAVAILABLE when the backing
 * store is unreachable; every key it writes carries the session TTL. Conversation writes from the media
 * path go through SessionWriteQueue, never straight here.
 */
export abstract class SessionStore {
  abstract create(input: NewSession): Promise<SessionRecord>;
  abstract get(id: string): Promise<SessionDetail | undefined>;
  /** Most recent first. */
  abstract list(options: { limit: number; callConnectionId?: string }): Promise<SessionRecord[]>;
  abstract delete(id: string): Promise<boolean>;
  abstract update(id: string, patch: SessionPatch): Promise<void>;
  abstract appendHistory(id: string, entries: HistoryEntry[]): Promise<void>;
  abstract setContext(id: string, values: Record<string, ContextValue>): Promise<void>;
  abstract appendTurnMetrics(id: string, metrics: TurnMetrics[]): Promise<void>;
  /** Call ↔ session mapping plus the call's settings; replaces an existing mapping. */
  abstract mapCall(callConnectionId: string, sessionId: string, settings?: CallSettings): Promise<void>;
  abstract findCall(callConnectionId: string): Promise<CallMapping | undefined>;
  /** True the first time `key` is claimed within `ttlSeconds` (webhook de-duplication). */
  abstract claimOnce(key: string, ttlSeconds: number): Promise<boolean>;
  abstract health(): StoreHealth;
  abstract close(): Promise<void>;
}
