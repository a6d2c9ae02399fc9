import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { LoopbackServer } from './loopback-server';

/**
 * A local Chat Completions endpoint speaking the streaming protocol (`data: {chat.completion.chunk}`
 * … `data: [DONE]`), accurate enough for the real `openai` client (OpenAI and AzureOpenAI). Each request
 * takes the next scripted response from a queue; every request is recorded.
 */

/** One step of a scripted stream; each content step is sent as its own chunk. */
export type StreamStep =
  | { text: string }
  /** A tool-call fragment: the first one for an index carries id and name, later ones more arguments. */
  | { toolCall: { index: number; id?: string; name?: string; arguments?: string } }
  | { finish: string }
  /** The choice-less usage chunk sent last when `stream_options.include_usage` is set. */
  | { usage: { prompt: number; completion: number } }
  /** Any JSON object as a data line (e.g. Azure's prompt-filter chunk, an `{error}` object). */
  | { chunk: Record<string, unknown> }
  /** Bytes written as they are (malformed data lines). */
  | { raw: string }
  | { delayMs: number };

export type ScriptedResponse =
  | {
      kind: 'stream';
      steps: StreamStep[];
      /** How the stream ends: `[DONE]` and end (default), end without `[DONE]`, socket destroyed, or never. */
      end?: 'done' | 'close' | 'destroy' | 'stall';
      /** Delay before the status line and headers. */
      headersDelayMs?: number;
      /** Pause between steps. */
      stepDelayMs?: number;
      /** Send the role-only first chunk OpenAI opens every stream with (default true). */
      roleChunk?: boolean;
    }
  | { kind: 'error'; status: number; body?: unknown; headers?: Record<string, string> }
  /** Accept the request and never answer (no headers). */
  | { kind: 'hang' };

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** The client went away before the response was complete (an aborted request). */
  closedByClient: boolean;
}

export class OpenAiSseFake {
  readonly requests: RecordedRequest[] = [];
  private readonly script: ScriptedResponse[] = [];
  private loopback: LoopbackServer | undefined;

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://fake');
        const raw = Buffer.concat(parts).toString('utf8');
        const record: RecordedRequest = {
          method: req.method ?? '',
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          headers: req.headers,
          body: raw ? (JSON.parse(raw) as Record<string, unknown>) : {},
          closedByClient: false,
        };
        this.requests.push(record);
        let selfDestroyed = false;
        res.on('close', () => {
          if (!res.writableFinished && !selfDestroyed) record.closedByClient = true;
        });
        const next = this.script.shift() ?? {
          kind: 'error',
          status: 500,
          body: { error: { message: 'fake: no scripted response left' } },
        };
        void this.answer(next, record, res, () => (selfDestroyed = true));
      });
    });
    this.loopback = await new LoopbackServer(server).listen();
    return this;
  }

  /** Base URL of the server, e.g. `http://127.0.0.1:1234`. */
  get url(): string {
    return `http://127.0.0.1:${this.loopback!.port}`;
  }

  /** Queues responses for the next requests, in order. */
  enqueue(...responses: ScriptedResponse[]): this {
    this.script.push(...responses);
    return this;
  }

  reset(): void {
    this.script.length = 0;
    this.requests.length = 0;
  }

  async close(): Promise<void> {
    await this.loopback?.close();
  }

  private async answer(
    response: ScriptedResponse,
    request: RecordedRequest,
    res: ServerResponse,
    markSelfDestroyed: () => void,
  ): Promise<void> {
    if (response.kind === 'hang') return;
    if (response.kind === 'error') {
      res.writeHead(response.status, { 'content-type': 'application/json', ...response.headers });
      res.end(JSON.stringify(response.body ?? { error: { message: `fake error ${response.status}` } }));
      return;
    }
    if (response.headersDelayMs) await pause(response.headersDelayMs, res);
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    const model = typeof request.body.model === 'string' ? request.body.model : 'fake-model';
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
      id: 'chatcmpl-fake',
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model,
      choices,
      ...extra,
    });
    const choice = (delta: Record<string, unknown>, finish: string | null = null) => ({
      index: 0,
      delta,
      finish_reason: finish,
    });
    const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);

    if (response.roleChunk !== false) send(chunk([choice({ role: 'assistant', content: '' })]));
    for (const step of response.steps) {
      if (res.destroyed) return;
      if (response.stepDelayMs) await pause(response.stepDelayMs, res);
      if (res.destroyed) return;
      if ('delayMs' in step) await pause(step.delayMs, res);
      else if ('text' in step) send(chunk([choice({ content: step.text })]));
      else if ('toolCall' in step) {
        const { index, id, name, arguments: args } = step.toolCall;
        const fn = { ...(name ? { name } : {}), arguments: args ?? '' };
        send(
          chunk([choice({ tool_calls: [{ index, ...(id ? { id, type: 'function' } : {}), function: fn }] })]),
        );
      } else if ('finish' in step) send(chunk([choice({}, step.finish)]));
      else if ('usage' in step) {
        const { prompt, completion } = step.usage;
        send(
          chunk([], {
            usage: {
              prompt_tokens: prompt,
              completion_tokens: completion,
              total_tokens: prompt + completion,
            },
          }),
        );
      } else if ('chunk' in step) send(step.chunk);
      else res.write(step.raw);
    }
    switch (response.end ?? 'done') {
      case 'done':
        res.end('data: [DONE]\n\n');
        return;
      case 'close':
        res.end();
        return;
      case 'destroy':
        // Let the client read what was sent first: an errored body stream drops its unread chunks.
        await pause(50, res);
        markSelfDestroyed();
        res.socket?.destroy();
        return;
      case 'stall':
        return;
    }
  }
}

/** A plain text answer: role chunk, one chunk per part, finish `stop`, usage, `[DONE]`. */
export function textStream(
  parts: string[],
  usage = { prompt: 12, completion: parts.length },
): ScriptedResponse {
  return {
    kind: 'stream',
    steps: [...parts.map((text) => ({ text })), { finish: 'stop' }, { usage }],
  };
}

/** Waits `ms`, or less if the client goes away (so no timer outlives the test). */
function pause(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    res.on('close', done);
  });
}
