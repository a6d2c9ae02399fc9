import { ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import type { WebSocket } from 'ws';
import { DomainError, ERROR_CODES, type ErrorCode } from './errors';

export interface WsError {
  code: ErrorCode;
  message: string;
  /** WebSocket close code (RFC 6455 / IANA registry). */
  closeCode: number;
  internal: boolean;
}

/** Maps a thrown value to what a WebSocket peer may see; unknown errors become 1011 with no internals. */
export function toWsError(err: unknown): WsError {
  if (err instanceof DomainError) {
    return { code: err.code, message: err.message, closeCode: err.wsCloseCode, internal: false };
  }
  return {
    code: 'INTERNAL',
    message: 'Internal error',
    closeCode: ERROR_CODES.INTERNAL.wsClose,
    internal: true,
  };
}

/** Close reasons are limited to 123 bytes by the protocol. */
export function closeReason(text: string): string {
  const buf = Buffer.from(text, 'utf8');
  return buf.length <= 123 ? text : buf.subarray(0, 120).toString('utf8') + '...';
}

/**
 * Errors thrown by gateway message handlers: the peer gets an error message and, for errors that end
 * the conversation (auth, capacity, internal), a close frame with the mapped code.
 */
@Catch()
export class WsErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: PinoLogger) {
    logger.setContext('ws');
  }

  catch(err: unknown, host: ArgumentsHost): void {
    const client = host.switchToWs().getClient<WebSocket>();
    const wsError = toWsError(err);
    if (wsError.internal) this.logger.error({ err }, 'unhandled WebSocket error');
    else this.logger.warn({ code: wsError.code, detail: wsError.message }, 'WebSocket message rejected');
    if (client.readyState !== client.OPEN) return;
    client.send(JSON.stringify({ kind: 'Error', error: { code: wsError.code, message: wsError.message } }));
    const fatal =
      wsError.internal ||
      ['UNAUTHORIZED', 'FORBIDDEN', 'CAPACITY_EXCEEDED', 'DRAINING'].includes(wsError.code);
    if (fatal) client.close(wsError.closeCode, closeReason(wsError.message));
  }
}
