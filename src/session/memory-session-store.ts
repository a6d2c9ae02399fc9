import { randomUUID } from 'node:crypto';
import { SessionStore } from './session-store';
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

interface Entry {
  detail: SessionDetail;
  expiresAt: number;
}

/**
 * In-process store for a single replica (used when REDIS_URL is unset). Same semantics as the Redis
 * driver, TTL included, so tests and the offline default behave like production.
 */
export class MemorySessionStore extends SessionStore {
  private readonly sessions = new Map<string, Entry>();
  private readonly calls = new Map<string, { mapping: CallMapping; expiresAt: number }>();
  private readonly claims = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    super();
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  private get ttlMs() {
    return this.ttlSeconds * 1000;
  }

  private live(id: string): Entry | undefined {
    const e = this.sessions.get(id);
    if (!e) return undefined;
    if (e.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return e;
  }

  /** Writes to a session (re)create it like Redis would: a late write after expiry starts an empty record. */
  private touch(id: string): SessionDetail {
    let e = this.live(id);
    if (!e) {
      const at = new Date(this.now()).toISOString();
      e = {
        detail: { id, createdAt: at, updatedAt: at, state: 'active', history: [], context: {}, turns: [] },
        expiresAt: 0,
      };
      this.sessions.set(id, e);
    }
    e.expiresAt = this.now() + this.ttlMs;
    e.detail.updatedAt = new Date(this.now()).toISOString();
    return e.detail;
  }

  async create(input: NewSession): Promise<SessionRecord> {
    const id = input.id ?? randomUUID();
    const at = new Date(this.now()).toISOString();
    const detail: SessionDetail = {
      id,
      createdAt: at,
      updatedAt: at,
      state: 'active',
      ...(input.callConnectionId ? { callConnectionId: input.callConnectionId } : {}),
      ...(input.scenario ? { scenario: input.scenario } : {}),
      ...(input.agent ? { agent: input.agent } : {}),
      history: [],
      context: {},
      turns: [],
    };
    this.sessions.set(id, { detail, expiresAt: this.now() + this.ttlMs });
    return recordOf(detail);
  }

  async get(id: string): Promise<SessionDetail | undefined> {
    const e = this.live(id);
    return e ? structuredClone(e.detail) : undefined;
  }

  async list(options: { limit: number; callConnectionId?: string }): Promise<SessionRecord[]> {
    const out: SessionRecord[] = [];
    for (const id of [...this.sessions.keys()]) {
      const e = this.live(id);
      if (!e) continue;
      if (options.callConnectionId && e.detail.callConnectionId !== options.callConnectionId) continue;
      out.push(recordOf(e.detail));
    }
    out.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
    return out.slice(0, options.limit);
  }

  async delete(id: string): Promise<boolean> {
    return this.live(id) !== undefined && this.sessions.delete(id);
  }

  async update(id: string, patch: SessionPatch): Promise<void> {
    Object.assign(this.touch(id), patch);
  }

  async appendHistory(id: string, entries: HistoryEntry[]): Promise<void> {
    this.touch(id).history.push(...structuredClone(entries));
  }

  async setContext(id: string, values: Record<string, ContextValue>): Promise<void> {
    Object.assign(this.touch(id).context, structuredClone(values));
  }

  async appendTurnMetrics(id: string, metrics: TurnMetrics[]): Promise<void> {
    this.touch(id).turns.push(...structuredClone(metrics));
  }

  async mapCall(callConnectionId: string, sessionId: string, settings: CallSettings = {}): Promise<void> {
    this.calls.set(callConnectionId, {
      mapping: { callConnectionId, sessionId, settings: structuredClone(settings) },
      expiresAt: this.now() + this.ttlMs,
    });
  }

  async findCall(callConnectionId: string): Promise<CallMapping | undefined> {
    const c = this.calls.get(callConnectionId);
    if (!c) return undefined;
    if (c.expiresAt <= this.now()) {
      this.calls.delete(callConnectionId);
      return undefined;
    }
    return structuredClone(c.mapping);
  }

  async claimOnce(key: string, ttlSeconds: number): Promise<boolean> {
    const until = this.claims.get(key);
    if (until !== undefined && until > this.now()) return false;
    this.claims.set(key, this.now() + ttlSeconds * 1000);
    return true;
  }

  health(): StoreHealth {
    return { driver: 'memory', connected: true };
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, e] of this.sessions) if (e.expiresAt <= now) this.sessions.delete(id);
    for (const [id, c] of this.calls) if (c.expiresAt <= now) this.calls.delete(id);
    for (const [k, until] of this.claims) if (until <= now) this.claims.delete(k);
  }
}

function recordOf(d: SessionDetail): SessionRecord {
  const { history: _h, context: _c, turns: _t, ...record } = d;
  return { ...record };
}
