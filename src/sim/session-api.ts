import type { SessionView } from './report';

export interface SessionApiOptions {
  /** Bearer key when the service sets ADMIN_API_KEY. */
  apiKey?: string;
  /** Deadline of each HTTP request. */
  timeoutMs?: number;
}

/** `ws://host:port/any/path` → `http://host:port` (wss → https): where the admin API of that service is. */
export function apiBaseFromMediaUrl(mediaUrl: string): string {
  let url: URL;
  try {
    url = new URL(mediaUrl);
  } catch {
    throw new Error(`--url is not a URL: ${mediaUrl}`);
  }
  const protocol = { 'ws:': 'http:', 'wss:': 'https:', 'http:': 'http:', 'https:': 'https:' }[url.protocol];
  if (!protocol) throw new Error(`--url must be ws:// or wss://, got ${url.protocol}//`);
  return `${protocol}//${url.host}`;
}

async function getJson(url: string, options: SessionApiOptions): Promise<{ status: number; body: unknown }> {
  const timeoutMs = options.timeoutMs ?? 5000;
  let res: Response;
  try {
    res = await fetch(url, {
      headers: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const reason =
      e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message);
    throw new Error(`session API ${url}: ${reason}`);
  }
  if (res.status === 404) return { status: 404, body: undefined };
  if (!res.ok) {
    const hint = res.status === 401 ? ' (the service needs --api-key)' : '';
    throw new Error(`session API ${url}: HTTP ${res.status}${hint}`);
  }
  return { status: res.status, body: (await res.json()) as unknown };
}

/** The session of a call: GET /api/v1/sessions?callConnectionId= then GET /api/v1/sessions/:id. */
export async function fetchCallSession(
  apiBase: string,
  callConnectionId: string,
  options: SessionApiOptions = {},
): Promise<SessionView | undefined> {
  const base = apiBase.replace(/\/+$/, '');
  const list = await getJson(
    `${base}/api/v1/sessions?callConnectionId=${encodeURIComponent(callConnectionId)}`,
    options,
  );
  const sessions = (list.body as { sessions?: Array<{ id: string }> } | undefined)?.sessions;
  const id = sessions?.[0]?.id;
  if (!id) return undefined;
  const detail = await getJson(`${base}/api/v1/sessions/${encodeURIComponent(id)}`, options);
  return detail.body as SessionView | undefined;
}

/**
 * The session once the service has written everything: session writes are queued, so poll until the
 * history stops growing (two reads `settleMs` apart agree) or `timeoutMs` passes.
 */
export async function fetchSettledSession(
  apiBase: string,
  callConnectionId: string,
  options: SessionApiOptions & { settleMs?: number; settleTimeoutMs?: number } = {},
): Promise<SessionView | undefined> {
  const settleMs = options.settleMs ?? 300;
  const deadline = Date.now() + (options.settleTimeoutMs ?? 3000);
  let last = await fetchCallSession(apiBase, callConnectionId, options);
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, settleMs));
    const next = await fetchCallSession(apiBase, callConnectionId, options);
    if (next && last && next.history.length === last.history.length) return next;
    last = next;
  }
  return last;
}
