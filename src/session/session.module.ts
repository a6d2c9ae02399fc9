import { Global, Inject, Injectable, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppConfig } from '../config';
import { ReadinessRegistry } from '../health/readiness.registry';
import { ROOT_LOGGER } from '../logging/root-logger.token';
import { MemorySessionStore } from './memory-session-store';
import { createRedisClient } from './redis-client';
import { RedisSessionStore } from './redis-session-store';
import { SessionStore } from './session-store';
import { SessionWriteQueue } from './session-write-queue';
import { SessionsController } from './sessions.controller';

function createStore(config: AppConfig, root: Logger): SessionStore {
  const log = root.child({ module: 'session' });
  if (!config.session.redisUrl) {
    log.warn('REDIS_URL is not set: sessions are kept in memory (single replica only, lost on restart)');
    return new MemorySessionStore(config.session.ttlSeconds);
  }
  const redis = createRedisClient(config.session.redisUrl, log, {
    commandTimeoutMs: config.session.commandTimeoutMs,
    connectionName: `${config.telemetry.serviceName}-sessions`,
  });
  // Connect in the background: an unreachable Redis at boot must not stop the replica from starting;
  // readiness reports it, and the client keeps retrying.
  redis.connect().catch(() => undefined);
  return new RedisSessionStore(redis, config.session.ttlSeconds);
}

/** Readiness of the store (with the grace period) and orderly flush on shutdown. */
@Injectable()
export class SessionLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly config: AppConfig,
    private readonly store: SessionStore,
    private readonly queue: SessionWriteQueue,
    private readonly readiness: ReadinessRegistry,
    @Inject(ROOT_LOGGER) private readonly log: Logger,
  ) {}

  onModuleInit(): void {
    this.readiness.register('sessionStore', () => {
      const h = this.store.health();
      const downFor = h.downSince === undefined ? 0 : Date.now() - h.downSince;
      const state = h.connected
        ? 'up'
        : downFor > this.config.server.readyGraceSeconds * 1000
          ? 'down'
          : 'degraded';
      return {
        state,
        critical: true,
        details: {
          driver: h.driver,
          ...(h.connected ? {} : { downForMs: downFor, lastError: h.lastError }),
          writeQueue: this.queue.stats(),
        },
      };
    });
  }

  async onApplicationShutdown(): Promise<void> {
    const flushed = await this.queue.flush(
      Math.min(5000, this.config.server.shutdownDrainSeconds * 1000 + 1000),
    );
    if (!flushed)
      this.log.error({ pending: this.queue.stats().pending }, 'session writes not flushed before shutdown');
    this.queue.close();
    await this.store.close();
  }
}

@Global()
@Module({
  controllers: [SessionsController],
  providers: [
    { provide: SessionStore, inject: [AppConfig, ROOT_LOGGER], useFactory: createStore },
    {
      provide: SessionWriteQueue,
      inject: [SessionStore, AppConfig, ROOT_LOGGER],
      useFactory: (store: SessionStore, config: AppConfig, root: Logger) =>
        new SessionWriteQueue(store, root.child({ module: 'session-writes' }), {
          maxPending: config.session.writeQueueMax,
        }),
    },
    SessionLifecycle,
  ],
  exports: [SessionStore, SessionWriteQueue],
})
export class SessionModule {}
