import pino, { type DestinationStream, type Logger } from 'pino';
import type { AppConfig } from '../config';
import { activeTraceIds } from '../telemetry/spans';
import { currentLogFields } from './log-context';
import { CENSOR, REDACT_PATHS, maskPhoneNumbers } from './redact';

export type LogDestination = DestinationStream | NodeJS.WritableStream;

/**
 * The root pino logger: JSON lines with level, time, msg, and — when known — callConnectionId,
 * sessionId, traceId and spanId taken from async context, so no caller threads ids by hand.
 */
export function createRootLogger(
  config: AppConfig,
  destination: LogDestination,
  base: Record<string, unknown> = {},
): Logger {
  return pino(
    {
      level: config.log.level,
      base: { service: config.telemetry.serviceName, ...base },
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        // Phone numbers are masked wherever they appear as top-level string fields.
        log: (obj) => {
          for (const key of Object.keys(obj)) {
            const v = obj[key];
            if (typeof v === 'string') obj[key] = maskPhoneNumbers(v);
          }
          return obj;
        },
      },
      hooks: {
        logMethod(args, method) {
          for (let i = 0; i < args.length; i++) {
            if (typeof args[i] === 'string') args[i] = maskPhoneNumbers(args[i] as string);
          }
          return method.apply(this, args as Parameters<typeof method>);
        },
      },
      mixin: () => {
        const fields = currentLogFields();
        const ids = activeTraceIds();
        if (!fields && !ids) return {};
        return { ...fields, ...ids };
      },
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      serializers: { err: pino.stdSerializers.err },
    },
    destination as DestinationStream,
  );
}

/** Asynchronous destination on a file descriptor (1 = stdout for the service, 2 = stderr for CLI commands). */
export function fdDestination(fd: 1 | 2) {
  return pino.destination({ dest: fd, sync: false, minLength: 0 });
}
