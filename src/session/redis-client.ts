import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { maskUrlCredentials } from '../config';

export interface RedisClientOptions {
  commandTimeoutMs: number;
  connectionName: string;
}

/**
 * ioredis configured for a latency-sensitive service: no offline queue (fail fast while disconnected,
 * the caller decides whether to buffer), a timeout on every command, and reconnects forever with a
 * capped backoff so the store comes back by itself.
 */
export function createRedisClient(url: string, log: Logger, options: RedisClientOptions): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: Math.max(1000, options.commandTimeoutMs),
    connectionName: options.connectionName,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    reconnectOnError: () => false,
  });
  let downLogged = false;
  redis.on('ready', () => {
    log.info({ redis: maskUrlCredentials(url) }, downLogged ? 'redis reconnected' : 'redis connected');
    downLogged = false;
  });
  redis.on('error', (err: Error) => {
    if (!downLogged)
      log.error(
        { redis: maskUrlCredentials(url), err: { message: err.message } },
        'redis unreachable; retrying',
      );
    downLogged = true;
  });
  return redis;
}
