import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createRedisClient } from '../../src/session/redis-client';
import { RedisSessionStore } from '../../src/session/redis-session-store';

export const REDIS_URL = 'redis://127.0.0.1:6379';

/** A key prefix per test so parallel test files never see each other's keys. */
export const testPrefix = () => `voxline-test:${randomUUID().slice(0, 8)}:`;

export const silentLogger = () => pino({ level: 'silent' });

export async function connectedStore(
  url = REDIS_URL,
  prefix = testPrefix(),
  ttlSeconds = 300,
  commandTimeoutMs = 500,
) {
  const redis = createRedisClient(url, silentLogger(), { commandTimeoutMs, connectionName: 'voxline-test' });
  await redis.connect();
  return { redis, store: new RedisSessionStore(redis, ttlSeconds, prefix), prefix };
}

/** A plain client to inspect keys (TTL, existence) and clean up after a test. */
export async function inspector(): Promise<Redis> {
  const r = new Redis(REDIS_URL, { lazyConnect: true });
  await r.connect();
  return r;
}

export async function deletePrefix(r: Redis, prefix: string): Promise<void> {
  const keys = await r.keys(`${prefix}*`);
  if (keys.length > 0) await r.del(...keys);
}
