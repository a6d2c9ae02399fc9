import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DomainError } from '../common/errors';
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

export const DEFAULT_KEY_PREFIX = 'voxline:';
/** The recent-sessions index keeps at most this many ids (older ones are still readable by id). */
const RECENT_MAX = 10_000;
const META_FIELDS = [
  'id',
  'createdAt',
  'updatedAt',
  'state',
  'callConnectionId',
  'scenario',
  'agent',
  'endedAt',
] as const;

/**
 * Redis driver. One MULTI per write, and every write refreshes the TTL of all of the session's keys, so
 * a session expires as a unit. The client is created with no offline queue: while Redis is unreachable
 * commands fail at once (STORE_UNAVAILABLE) instead of piling up invisibly.
 */
export class RedisSessionStore extends SessionStore {
  private connected = false;
  private downSince: number | undefined = Date.now();
  private lastError: string | undefined;

  private readonly recent: string;

  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
    private readonly prefix = DEFAULT_KEY_PREFIX,
  ) {
    super();
    this.recent = `${prefix}sessions`;
    this.connected = redis.status === 'ready';
    if (this.connected) this.downSince = undefined;
    redis.on('ready', () => {
      this.connected = true;
      this.downSince = undefined;
      this.lastError = undefined;
    });
    const down = () => {
      if (this.connected || this.downSince === undefined) this.downSince = Date.now();
      this.connected = false;
    };
    redis.on('close', down);
    redis.on('end', down);
    redis.on('error', (err: Error) => {
      this.lastError = err.message;
    });
  }

  private keys(id: string) {
    return {
      meta: `${this.prefix}s:${id}`,
      history: `${this.prefix}s:${id}:history`,
      context: `${this.prefix}s:${id}:context`,
      turns: `${this.prefix}s:${id}:turns`,
    };
  }

  private callKey(callConnectionId: string) {
    return `${this.prefix}call:${callConnectionId}`;
  }

  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.lastError = message;
      throw new DomainError('STORE_UNAVAILABLE', `session store ${what} failed: ${message}`, undefined, {
        cause: err,
      });
    }
  }

  /** Appends EXPIRE of every key of the session to a transaction. */
  private expireAll(multi: ReturnType<Redis['multi']>, id: string) {
    const k = this.keys(id);
    for (const key of [k.meta, k.history, k.context, k.turns]) multi.expire(key, this.ttlSeconds);
    return multi;
  }

  private async exec(
    what: string,
    id: string,
    build: (m: ReturnType<Redis['multi']>) => void,
  ): Promise<void> {
    await this.run(what, async () => {
      const m = this.redis.multi();
      build(m);
      m.hset(this.keys(id).meta, 'id', id, 'updatedAt', new Date().toISOString());
      this.expireAll(m, id);
      const res = await m.exec();
      const failed = res?.find(([err]) => err);
      if (failed?.[0]) throw failed[0];
    });
  }

  async create(input: NewSession): Promise<SessionRecord> {
    const id = input.id ?? randomUUID();
    const now = new Date();
    const record: SessionRecord = {
      id,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      state: 'active',
      ...(input.callConnectionId ? { callConnectionId: input.callConnectionId } : {}),
      ...(input.scenario ? { scenario: input.scenario } : {}),
      ...(input.agent ? { agent: input.agent } : {}),
    };
    await this.run('create', async () => {
      const m = this.redis.multi().hset(this.keys(id).meta, record as unknown as Record<string, string>);
      this.expireAll(m, id);
      m.zadd(this.recent, now.getTime(), id)
        .zremrangebyrank(this.recent, 0, -RECENT_MAX - 1)
        .expire(this.recent, this.ttlSeconds);
      await m.exec();
    });
    return record;
  }

  async get(id: string): Promise<SessionDetail | undefined> {
    const k = this.keys(id);
    const res = await this.run('read', async () =>
      this.redis
        .multi()
        .hgetall(k.meta)
        .lrange(k.history, 0, -1)
        .hgetall(k.context)
        .lrange(k.turns, 0, -1)
        .exec(),
    );
    const [meta, history, context, turns] = (res ?? []).map(([, v]) => v) as [
      Record<string, string>,
      string[],
      Record<string, string>,
      string[],
    ];
    if (!meta || !meta.createdAt) return undefined;
    return {
      ...toRecord(meta),
      history: history.map((h) => JSON.parse(h) as HistoryEntry),
      context: Object.fromEntries(
        Object.entries(context).map(([key, v]) => [key, JSON.parse(v) as ContextValue]),
      ),
      turns: turns.map((t) => JSON.parse(t) as TurnMetrics),
    };
  }

  async list(options: { limit: number; callConnectionId?: string }): Promise<SessionRecord[]> {
    if (options.callConnectionId) {
      const mapping = await this.findCall(options.callConnectionId);
      if (!mapping) return [];
      const s = await this.get(mapping.sessionId);
      if (!s) return [];
      const { history: _h, context: _c, turns: _t, ...record } = s;
      return [record];
    }
    return this.run('list', async () => {
      // Over-read a little: ids whose session expired are dropped from the index as they are found.
      const ids = await this.redis.zrevrange(this.recent, 0, options.limit * 2 - 1);
      if (ids.length === 0) return [];
      const p = this.redis.pipeline();
      for (const id of ids) p.hmget(this.keys(id).meta, ...META_FIELDS);
      const rows = (await p.exec()) ?? [];
      const out: SessionRecord[] = [];
      const gone: string[] = [];
      rows.forEach(([, values], i) => {
        const v = values as (string | null)[];
        if (!v[1]) gone.push(ids[i]);
        else if (out.length < options.limit)
          out.push(toRecord(Object.fromEntries(META_FIELDS.map((f, j) => [f, v[j]]))));
      });
      if (gone.length > 0) await this.redis.zrem(this.recent, ...gone);
      return out;
    });
  }

  async delete(id: string): Promise<boolean> {
    const k = this.keys(id);
    return this.run('delete', async () => {
      const res = await this.redis
        .multi()
        .del(k.meta, k.history, k.context, k.turns)
        .zrem(this.recent, id)
        .exec();
      return Number(res?.[0]?.[1] ?? 0) > 0;
    });
  }

  async update(id: string, patch: SessionPatch): Promise<void> {
    const fields = Object.entries(patch).filter(([, v]) => v !== undefined) as [string, string][];
    await this.exec('update', id, (m) => {
      if (fields.length > 0) m.hset(this.keys(id).meta, Object.fromEntries(fields));
    });
  }

  async appendHistory(id: string, entries: HistoryEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.exec('history write', id, (m) =>
      m.rpush(this.keys(id).history, ...entries.map((e) => JSON.stringify(e))),
    );
  }

  async setContext(id: string, values: Record<string, ContextValue>): Promise<void> {
    const entries = Object.entries(values);
    if (entries.length === 0) return;
    await this.exec('context write', id, (m) =>
      m.hset(this.keys(id).context, Object.fromEntries(entries.map(([key, v]) => [key, JSON.stringify(v)]))),
    );
  }

  async appendTurnMetrics(id: string, metrics: TurnMetrics[]): Promise<void> {
    if (metrics.length === 0) return;
    await this.exec('metrics write', id, (m) =>
      m.rpush(this.keys(id).turns, ...metrics.map((t) => JSON.stringify(t))),
    );
  }

  async mapCall(callConnectionId: string, sessionId: string, settings: CallSettings = {}): Promise<void> {
    await this.run('call mapping write', async () => {
      await this.redis
        .multi()
        .del(this.callKey(callConnectionId))
        .hset(this.callKey(callConnectionId), 'sessionId', sessionId, 'settings', JSON.stringify(settings))
        .expire(this.callKey(callConnectionId), this.ttlSeconds)
        .exec();
    });
  }

  async findCall(callConnectionId: string): Promise<CallMapping | undefined> {
    const v = await this.run('call mapping read', () => this.redis.hgetall(this.callKey(callConnectionId)));
    if (!v.sessionId) return undefined;
    return {
      callConnectionId,
      sessionId: v.sessionId,
      settings: v.settings ? (JSON.parse(v.settings) as CallSettings) : {},
    };
  }

  async claimOnce(key: string, ttlSeconds: number): Promise<boolean> {
    const res = await this.run('claim', () =>
      this.redis.set(`${this.prefix}once:${key}`, '1', 'EX', ttlSeconds, 'NX'),
    );
    return res === 'OK';
  }

  health(): StoreHealth {
    return {
      driver: 'redis',
      connected: this.connected,
      downSince: this.downSince,
      lastError: this.lastError,
    };
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}

function toRecord(meta: Record<string, string | null | undefined>): SessionRecord {
  const r: SessionRecord = {
    id: meta.id ?? '',
    createdAt: meta.createdAt ?? '',
    updatedAt: meta.updatedAt ?? meta.createdAt ?? '',
    state: meta.state === 'ended' ? 'ended' : 'active',
  };
  for (const f of ['callConnectionId', 'scenario', 'agent', 'endedAt'] as const) {
    const v = meta[f];
    if (v) r[f] = v;
  }
  return r;
}
