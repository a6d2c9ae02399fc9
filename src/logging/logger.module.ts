import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule as PinoLoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { pathOf } from '../telemetry/http-tracing';
import { redactUrl } from './redact';

const PROBE_PATHS = new Set(['/health', '/ready', '/metrics']);
const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** nestjs-pino wired to our root logger: one JSON request log per HTTP request (probes at debug). */
@Module({})
export class LoggerModule {
  static forRoot(logger: Logger): DynamicModule {
    return {
      module: LoggerModule,
      imports: [
        PinoLoggerModule.forRoot({
          pinoHttp: {
            logger,
            genReqId: (req: IncomingMessage) => {
              const given = req.headers['x-request-id'];
              return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
            },
            customLogLevel: (req: IncomingMessage, res: ServerResponse, err?: Error) => {
              if (err || res.statusCode >= 500) return 'error';
              if (res.statusCode >= 400) return 'warn';
              return PROBE_PATHS.has(pathOf(req.url)) ? 'debug' : 'info';
            },
            serializers: {
              req: (req: { id: string; method: string; url: string; remoteAddress?: string }) => ({
                id: req.id,
                method: req.method,
                url: redactUrl(req.url),
                remoteAddress: req.remoteAddress,
              }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            },
            customSuccessMessage: (req: IncomingMessage, res: ServerResponse) =>
              `${req.method} ${pathOf(req.url)} ${res.statusCode}`,
            customErrorMessage: (req: IncomingMessage, res: ServerResponse) =>
              `${req.method} ${pathOf(req.url)} ${res.statusCode}`,
          },
        }),
      ],
      exports: [PinoLoggerModule],
    };
  }
}
