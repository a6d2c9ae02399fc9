import { BadRequestException, HttpException, NotFoundException } from '@nestjs/common';
import { DomainError, ERROR_CODES, withTimeout } from '../../../src/common/errors';
import { toProblem } from '../../../src/common/problem.filter';
import { closeReason, toWsError } from '../../../src/common/ws-exception.filter';

describe('domain errors', () => {
  it('carry a stable code mapped to an HTTP status and a WebSocket close code', () => {
    const err = new DomainError('CAPACITY_EXCEEDED', 'full');
    expect(err.status).toBe(429);
    expect(err.wsCloseCode).toBe(1013);
    expect(new DomainError('PAYLOAD_TOO_LARGE', 'x').wsCloseCode).toBe(1009);
    for (const [code, m] of Object.entries(ERROR_CODES)) {
      expect([code, m.status >= 400 && m.status < 600]).toEqual([code, true]);
      expect([code, m.wsClose >= 1000 && m.wsClose < 5000]).toEqual([code, true]);
    }
  });
});

describe('toProblem (problem+json)', () => {
  it('maps a domain error to its status, code and message', () => {
    const { problem, internal } = toProblem(
      new DomainError('SESSION_NOT_FOUND', 'session s1 does not exist'),
      'req-1',
    );
    expect(internal).toBe(false);
    expect(problem).toEqual({
      type: 'https://voxline.dev/errors/session-not-found',
      title: 'Session not found',
      status: 404,
      detail: 'session s1 does not exist',
      code: 'SESSION_NOT_FOUND',
      requestId: 'req-1',
    });
  });

  it('keeps validation details as a list', () => {
    const err = new DomainError('VALIDATION_FAILED', 'a; b', { errors: ['a', 'b'] });
    expect(toProblem(err, 'r').problem.errors).toEqual(['a', 'b']);
  });

  it('maps Nest HTTP exceptions and Fastify body errors to client errors', () => {
    expect(toProblem(new NotFoundException('Cannot GET /x'), 'r').problem).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
    });
    expect(toProblem(new BadRequestException(['a', 'b']), 'r').problem).toMatchObject({
      status: 400,
      detail: 'a; b',
    });
    const tooLarge = Object.assign(new Error('Request body is too large'), {
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
      statusCode: 413,
    });
    expect(toProblem(tooLarge, 'r').problem).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    const badJson = Object.assign(new Error('Unexpected token'), {
      code: 'FST_ERR_CTP_INVALID_JSON_BODY',
      statusCode: 400,
    });
    expect(toProblem(badJson, 'r').problem).toMatchObject({ status: 400, code: 'MALFORMED_JSON' });
  });

  it('turns unknown errors into a plain 500 with no internals', () => {
    const { problem, internal } = toProblem(new Error('password=hunter2 at db.ts:12'), 'r');
    expect(internal).toBe(true);
    expect(problem).toMatchObject({ status: 500, code: 'INTERNAL', detail: 'Internal server error' });
    expect(JSON.stringify(problem)).not.toContain('hunter2');
    expect(toProblem(new HttpException('boom internals', 502), 'r').problem.detail).toBe(
      'Internal server error',
    );
  });
});

describe('toWsError', () => {
  it('maps domain errors to close codes and hides unknown errors behind 1011', () => {
    expect(toWsError(new DomainError('UNAUTHORIZED', 'bad token'))).toMatchObject({
      closeCode: 1008,
      message: 'bad token',
    });
    expect(toWsError(new TypeError('secret internals'))).toEqual({
      code: 'INTERNAL',
      message: 'Internal error',
      closeCode: 1011,
      internal: true,
    });
  });

  it('keeps close reasons within the 123-byte protocol limit', () => {
    expect(Buffer.byteLength(closeReason('é'.repeat(200)))).toBeLessThanOrEqual(123);
    expect(closeReason('short')).toBe('short');
  });
});

describe('withTimeout', () => {
  it('rejects with a TIMEOUT domain error and aborts the work signal', async () => {
    let aborted = false;
    const work = (signal: AbortSignal) =>
      new Promise<void>((resolve) => {
        signal.addEventListener('abort', () => {
          aborted = true;
          resolve();
        });
      });
    await expect(withTimeout(work, 10, 'slow thing')).rejects.toMatchObject({
      code: 'TIMEOUT',
      message: 'slow thing timed out after 10 ms',
    });
    expect(aborted).toBe(true);
  });

  it('returns the value when the work finishes in time', async () => {
    await expect(withTimeout(Promise.resolve(42), 1000, 'fast')).resolves.toBe(42);
  });
});
