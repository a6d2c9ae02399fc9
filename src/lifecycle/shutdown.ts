import type { INestApplication } from '@nestjs/common';
import type { Logger } from 'pino';
import type { AppConfig } from '../config';
import { withTimeout } from '../common/errors';
import type { Telemetry } from '../telemetry/telemetry';
import { CallAdmission } from './call-admission.service';

export interface ShutdownDeps {
  app: INestApplication;
  config: AppConfig;
  telemetry: Telemetry;
  logger: Logger;
  /** Called last, after logs are flushed (process.exit in production, a spy in tests). */
  exit: (code: number) => void;
  flushLogs: () => void;
}

/**
 * Graceful stop: refuse new calls (and report not-ready) but keep serving probes and open calls for up
 * to SHUTDOWN_DRAIN_SECONDS, then close the app (session writes flushed by the session module),
 * flush telemetry and logs, and exit 0.
 */
export async function gracefulShutdown(deps: ShutdownDeps, signal: string): Promise<void> {
  const { app, config, telemetry, logger } = deps;
  const admission = app.get(CallAdmission);
  admission.startDrain();
  logger.info(
    { signal, activeCalls: admission.activeCount, drainSeconds: config.server.shutdownDrainSeconds },
    'shutdown: draining',
  );
  const idle = await admission.waitForIdle(config.server.shutdownDrainSeconds * 1000);
  if (!idle)
    logger.warn(
      { activeCalls: admission.activeCount },
      'shutdown: drain time over, closing the remaining calls',
    );
  let code = 0;
  try {
    await withTimeout(app.close(), 10_000, 'application close');
  } catch (err) {
    code = 1;
    logger.error({ err }, 'shutdown: application did not close cleanly');
  }
  await telemetry.shutdown(3000);
  logger.info({ code }, 'shutdown: stopped');
  deps.flushLogs();
  deps.exit(code);
}

export function installSignalHandlers(deps: ShutdownDeps): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      deps.logger.warn({ signal }, 'shutdown already in progress');
      return;
    }
    stopping = true;
    void gracefulShutdown(deps, signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('unhandledRejection', (reason) => {
    deps.logger.error(
      { err: reason instanceof Error ? reason : { message: String(reason) } },
      'unhandled promise rejection',
    );
  });
  process.on('uncaughtException', (err) => {
    deps.logger.fatal({ err }, 'uncaught exception: exiting');
    deps.flushLogs();
    deps.exit(1);
  });
}
