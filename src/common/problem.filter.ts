import { ArgumentsHost, Catch, HttpException, HttpStatus, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import { DomainError, ERROR_CODES, type ErrorCode } from './errors';

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  requestId: string;
  errors?: unknown;
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
};

const STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'CAPACITY_EXCEEDED',
};

/** Maps any thrown value to an RFC 9457 problem+json response; internals of unknown errors stay in the log. */
export function toProblem(err: unknown, requestId: string): { problem: ProblemDetails; internal: boolean } {
  const make = (
    code: ErrorCode,
    detail: string,
    status: number = ERROR_CODES[code].status,
    errors?: unknown,
  ) => ({
    type: `https://voxline.dev/errors/${code.toLowerCase().replace(/_/g, '-')}`,
    title: ERROR_CODES[code].title,
    status,
    detail,
    code,
    requestId,
    ...(errors === undefined ? {} : { errors }),
  });
  if (err instanceof DomainError) {
    return { problem: make(err.code, err.message, err.status, err.details?.errors), internal: false };
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const body = err.getResponse();
    const message =
      typeof body === 'object' && body && 'message' in body
        ? (body as { message: unknown }).message
        : err.message;
    const detail = Array.isArray(message) ? message.join('; ') : String(message);
    const code = STATUS_CODES[status] ?? (status >= 500 ? 'INTERNAL' : 'BAD_REQUEST');
    if (status >= 500) return { problem: make('INTERNAL', 'Internal server error', status), internal: true };
    return { problem: make(code, detail, status), internal: false };
  }
  const fastifyCode = (err as { code?: unknown } | null)?.code;
  if (typeof fastifyCode === 'string' && FASTIFY_CODES[fastifyCode]) {
    return { problem: make(FASTIFY_CODES[fastifyCode], (err as Error).message), internal: false };
  }
  const statusCode = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return {
      problem: make(STATUS_CODES[statusCode] ?? 'BAD_REQUEST', (err as Error).message, statusCode),
      internal: false,
    };
  }
  return {
    problem: make('INTERNAL', 'Internal server error', HttpStatus.INTERNAL_SERVER_ERROR),
    internal: true,
  };
}

@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  constructor(private readonly logger: PinoLogger) {
    logger.setContext('http');
  }

  catch(err: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw err;
    const http = host.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const { problem, internal } = toProblem(err, String(req.id));
    if (internal) this.logger.error({ err }, 'unhandled error');
    else if (problem.status >= 500)
      this.logger.warn({ code: problem.code, detail: problem.detail }, 'request failed');
    else this.logger.debug({ code: problem.code, detail: problem.detail }, 'request rejected');
    void reply.status(problem.status).header('content-type', 'application/problem+json').send(problem);
  }
}
