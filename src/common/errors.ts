/**
 * Domain errors: a stable string code plus a message safe to show to API clients. Transports map the
 * code (HTTP status in the problem+json filter, close code in the WS filter); anything that is not a
 * DomainError is treated as internal and its details never leave the process.
 */
export const ERROR_CODES = {
  BAD_REQUEST: { status: 400, wsClose: 1008, title: 'Bad request' },
  VALIDATION_FAILED: { status: 400, wsClose: 1007, title: 'Validation failed' },
  MALFORMED_JSON: { status: 400, wsClose: 1007, title: 'Malformed JSON' },
  UNAUTHORIZED: { status: 401, wsClose: 1008, title: 'Unauthorized' },
  FORBIDDEN: { status: 403, wsClose: 1008, title: 'Forbidden' },
  NOT_FOUND: { status: 404, wsClose: 1008, title: 'Not found' },
  SESSION_NOT_FOUND: { status: 404, wsClose: 1008, title: 'Session not found' },
  CALL_NOT_FOUND: { status: 404, wsClose: 1008, title: 'Call not found' },
  METHOD_NOT_ALLOWED: { status: 405, wsClose: 1008, title: 'Method not allowed' },
  CONFLICT: { status: 409, wsClose: 1008, title: 'Conflict' },
  PAYLOAD_TOO_LARGE: { status: 413, wsClose: 1009, title: 'Payload too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, wsClose: 1003, title: 'Unsupported media type' },
  CAPACITY_EXCEEDED: { status: 429, wsClose: 1013, title: 'Capacity exceeded' },
  DRAINING: { status: 503, wsClose: 1001, title: 'Shutting down' },
  STORE_UNAVAILABLE: { status: 503, wsClose: 1011, title: 'Session store unavailable' },
  NOT_AVAILABLE: { status: 501, wsClose: 1008, title: 'Not available in this configuration' },
  PROVIDER_ERROR: { status: 502, wsClose: 1011, title: 'Upstream provider error' },
  PROVIDER_TIMEOUT: { status: 504, wsClose: 1011, title: 'Upstream provider timed out' },
  TIMEOUT: { status: 504, wsClose: 1011, title: 'Timed out' },
  INTERNAL: { status: 500, wsClose: 1011, title: 'Internal error' },
} as const satisfies Record<string, { status: number; wsClose: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DomainError';
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  get wsCloseCode(): number {
    return ERROR_CODES[this.code].wsClose;
  }
}

export const isDomainError = (err: unknown): err is DomainError => err instanceof DomainError;

/** Races a promise against a deadline; the timer never keeps the process alive. */
export async function withTimeout<T>(
  work: Promise<T> | ((signal: AbortSignal) => Promise<T>),
  ms: number,
  what: string,
  code: ErrorCode = 'TIMEOUT',
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Reject first: aborting may settle the work synchronously, and the timeout must win the race.
      reject(new DomainError(code, `${what} timed out after ${ms} ms`));
      controller.abort();
    }, ms);
    timer.unref();
  });
  try {
    return await Promise.race([typeof work === 'function' ? work(controller.signal) : work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
