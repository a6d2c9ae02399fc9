import type { AddressInfo } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';
import { createApp } from './app.factory';
import { maskedSettings, type AppConfig } from './config';
import { installSignalHandlers } from './lifecycle/shutdown';
import { createRootLogger, fdDestination } from './logging/logger';
import { Telemetry } from './telemetry/telemetry';

export interface RunningServer {
  app: NestFastifyApplication;
  logger: Logger;
  port: number;
}

/** Boot warnings for configurations that work but are not safe for production. */
function warnAboutConfig(config: AppConfig, logger: Logger): void {
  if (!config.server.adminApiKey) {
    logger.warn('ADMIN_API_KEY is not set: the /api/v1 admin API is open to anyone who can reach this port');
  }
  if (!config.acs.audience) {
    logger.warn('ACS_AUDIENCE is not set: ACS callback and media WebSocket JWTs are NOT verified');
  }
}

/** Runs the service: telemetry first, then Nest on Fastify, then signal handling. */
export async function serve(config: AppConfig, options: { logFd: 1 | 2 }): Promise<RunningServer> {
  const destination = fdDestination(options.logFd);
  const telemetry = Telemetry.start(config);
  const logger = createRootLogger(config, destination, { instance: telemetry.instanceId });
  const app = await createApp({ config, telemetry, logger });
  installSignalHandlers({
    app,
    config,
    telemetry,
    logger,
    flushLogs: () => destination.flushSync(),
    exit: (code) => process.exit(code),
  });
  await app.listen({ port: config.server.port, host: config.server.host });
  const port = (app.getHttpServer().address() as AddressInfo).port;
  logger.info(
    { port, host: config.server.host, config: maskedSettings(config) },
    `voxline listening on ${config.server.host}:${port}`,
  );
  warnAboutConfig(config, logger);
  return { app, logger, port };
}
