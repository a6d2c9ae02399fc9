import { getBearerTokenProvider, ManagedIdentityCredential } from '@azure/identity';
import { SpanKind } from '@opentelemetry/api';
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  AzureOpenAI,
  OpenAI,
  OpenAIError,
  type ClientOptions,
} from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import pino, { type Logger } from 'pino';
import { DomainError, isDomainError, withTimeout } from '../../common/errors';
import { secretScrubber } from '../../logging/redact';
import { recordSpanError, startSpan } from '../../telemetry/spans';
import {
  ChatModel,
  type ChatEvent,
  type ChatMessage,
  type ChatOptions,
  type FinishReason,
  type ToolCall,
  type ToolSpec,
} from '../ports/chat-model.port';
import type { ConcurrencyLimiter, Permit } from './concurrency-limiter';

export interface ChatModelTimeouts {
  /** From sending the request (each attempt) to the first text or tool-call delta. */
  firstTokenMs: number;
  /** Longest gap between two chunks once the first token has arrived. */
  idleMs: number;
  /** The whole stream() call: limiter queue, retries, backoff and streaming. */
  totalMs: number;
}

export const DEFAULT_CHAT_TIMEOUTS: ChatModelTimeouts = { firstTokenMs: 8000, idleMs: 5000, totalMs: 60_000 };

export interface RemoteChatModelOptions {
  timeouts?: Partial<ChatModelTimeouts>;
  /** Retries before the first token on 429, 5xx and connection errors (0 = none). */
  maxRetries?: number;
  /** Backoff when the provider names no retry-after: base × 2^attempt, jittered. */
  retryBaseDelayMs?: number;
  /** A longer retry-after is not waited for (a caller is on the phone): the error is returned instead. */
  maxRetryDelayMs?: number;
  /** The endpoint's limiter, shared by every model instance using that endpoint. */
  limiter: ConcurrencyLimiter;
  logger?: Logger;
}

export interface OpenAiChatModelOptions extends RemoteChatModelOptions {
  /** e.g. http://127.0.0.1:8000/v1 for a local OpenAI-compatible server; default api.openai.com. */
  baseUrl?: string;
  /** Optional: local OpenAI-compatible servers usually need none. */
  apiKey?: string;
  model: string;
}

export interface AzureOpenAiChatModelOptions extends RemoteChatModelOptions {
  /** https://{resource}.openai.azure.com */
  endpoint: string;
  deployment: string;
  apiVersion: string;
  /** Required unless useManagedIdentity is set; sent as the `api-key` header. */
  apiKey?: string;
  /** Authenticate with the managed identity (Bearer token) instead of a key. Opt-in only. */
  useManagedIdentity?: boolean;
  /** User-assigned identity; the system-assigned one when absent. */
  managedIdentityClientId?: string;
  /** Bound on each token fetch (IMDS can hang forever). */
  tokenTimeoutMs?: number;
  /** The model behind the deployment, for spans and logs; defaults to the deployment name. */
  model?: string;
}

const DEFAULT_MAX_RETRIES = 2;
const DEFAULT_RETRY_BASE_DELAY_MS = 250;
const DEFAULT_MAX_RETRY_DELAY_MS = 5000;
const DEFAULT_TOKEN_TIMEOUT_MS = 5000;
const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';
const COGNITIVE_SERVICES_SCOPE = 'https://cognitiveservices.azure.com/.default';
const MAX_PROVIDER_MESSAGE = 300;

type PeerService = 'openai' | 'azure-openai';

/** Error outcome of one attempt, with whether another attempt may follow. */
interface Failure {
  error: DomainError;
  retryable: boolean;
  retryAfterMs?: number;
}

/**
 * Streaming chat completions over the `openai` SDK, shared by the OpenAI-compatible and Azure OpenAI
 * drivers. The SDK is only trusted to open the request: its own retries are off (ours stop at the first
 * token), its timeout only reaches the response headers, and an aborted stream just ends its
 * `for await` — so first-token, idle and total deadlines are our timers aborting one controller, and a
 * stream only succeeds when it carried a finish_reason.
 */
abstract class RemoteChatModel extends ChatModel {
  private readonly timeouts: ChatModelTimeouts;
  private readonly maxRetries: number;
  private readonly retryBaseDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly limiter: ConcurrencyLimiter;
  private readonly logger: Logger;
  private readonly scrub: (text: string) => string;

  protected constructor(
    private readonly client: OpenAI,
    private readonly peer: PeerService,
    private readonly model: string,
    options: RemoteChatModelOptions,
    secret: string | undefined,
  ) {
    super();
    this.timeouts = { ...DEFAULT_CHAT_TIMEOUTS, ...options.timeouts };
    this.maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS;
    this.limiter = options.limiter;
    this.logger = (options.logger ?? pino({ enabled: false })).child({ component: `${peer}-chat`, model });
    this.scrub = secretScrubber(secret);
  }

  stream(
    messages: ChatMessage[],
    tools: ToolSpec[],
    options: ChatOptions,
    signal?: AbortSignal,
  ): AsyncIterable<ChatEvent> {
    return { [Symbol.asyncIterator]: () => this.run(messages, tools, options, signal) };
  }

  private async *run(
    messages: ChatMessage[],
    tools: ToolSpec[],
    options: ChatOptions,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<ChatEvent, void, undefined> {
    if (signal?.aborted) {
      yield { type: 'error', error: abortedError() };
      return;
    }
    const started = Date.now();
    const log = options.sessionId ? this.logger.child({ sessionId: options.sessionId }) : this.logger;
    const span = startSpan(`chat ${this.model}`, SpanKind.CLIENT, {
      attributes: {
        'peer.service': this.peer,
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': this.model,
        ...(options.sessionId ? { 'session.id': options.sessionId } : {}),
      },
    });

    // One controller for the whole call: the caller's abort, every deadline and an early `break` by the
    // consumer all end here, which aborts the HTTP request in flight and any wait below it.
    const call = new AbortController();
    let failure: DomainError | undefined;
    const fail = (error: DomainError) => {
      failure ??= error;
      call.abort();
    };
    const abortedByCall = new Promise<never>((_, reject) =>
      call.signal.addEventListener('abort', () => reject(failure), { once: true }),
    );
    abortedByCall.catch(noop);
    /** Settles with `work`, or rejects as soon as the call is aborted (the SDK may not notice). */
    const untilAborted = <T>(work: Promise<T>): Promise<T> => {
      work.catch(noop); // a loser settling late must not become an unhandled rejection
      return Promise.race([work, abortedByCall]);
    };
    const onCallerAbort = () => fail(abortedError());
    signal?.addEventListener('abort', onCallerAbort, { once: true });
    const totalTimer = setTimeout(
      () =>
        fail(
          new DomainError(
            'PROVIDER_TIMEOUT',
            `${this.peer}: no complete answer within ${this.timeouts.totalMs} ms`,
          ),
        ),
      this.timeouts.totalMs,
    );
    totalTimer.unref();
    let watchdog: NodeJS.Timeout | undefined;
    const arm = (ms: number, what: string) => {
      clearTimeout(watchdog);
      watchdog = setTimeout(
        () => fail(new DomainError('PROVIDER_TIMEOUT', `${this.peer}: ${what} within ${ms} ms`)),
        ms,
      );
      watchdog.unref();
    };
    const disarm = () => clearTimeout(watchdog);

    let permit: Permit | undefined;
    let attempts = 0;
    let firstTokenAt: number | undefined;
    let outcome: ChatEvent | undefined;
    const report = (event: ChatEvent) => {
      outcome = event;
      return event;
    };

    try {
      try {
        permit = await untilAborted(this.limiter.acquire(call.signal));
      } catch (err) {
        yield report({ type: 'error', error: failure ?? asDomainError(err) });
        return;
      }

      const body = this.requestBody(messages, tools, options);
      for (;;) {
        attempts++;
        arm(this.timeouts.firstTokenMs, 'no first token');
        const toolCalls = new Map<number, ToolCall>();
        let finishReason: FinishReason | undefined;
        let usage: Extract<ChatEvent, { type: 'usage' }> | undefined;
        let attemptFailure: Failure | undefined;

        try {
          const stream = await untilAborted(
            this.client.chat.completions.create(body, { signal: call.signal }),
          );
          const chunks = stream[Symbol.asyncIterator]();
          for (;;) {
            const next = await untilAborted(chunks.next());
            if (next.done) break;
            const chunk: ChatCompletionChunk = next.value;
            if (chunk.usage) {
              usage = {
                type: 'usage',
                promptTokens: chunk.usage.prompt_tokens,
                completionTokens: chunk.usage.completion_tokens,
                totalTokens: chunk.usage.total_tokens,
              };
            }
            // Azure opens with a choice-less prompt-filter chunk; usage arrives choice-less at the end.
            const choice = chunk.choices?.[0];
            const text = choice?.delta?.content;
            let token = typeof text === 'string' && text.length > 0;
            for (const fragment of choice?.delta?.tool_calls ?? []) {
              token = true;
              const acc = toolCalls.get(fragment.index) ?? { id: '', name: '', arguments: '' };
              if (fragment.id) acc.id = fragment.id;
              if (fragment.function?.name) acc.name = fragment.function.name;
              acc.arguments += fragment.function?.arguments ?? '';
              toolCalls.set(fragment.index, acc);
            }
            if (choice?.finish_reason) finishReason = mapFinishReason(choice.finish_reason);
            if (token && firstTokenAt === undefined) {
              firstTokenAt = Date.now();
              // From the stream() call, as the caller waits: queueing and retries included.
              span.setAttribute('llm.ttft_ms', firstTokenAt - started);
            }
            if (firstTokenAt === undefined) continue; // the first-token deadline keeps running
            if (typeof text === 'string' && text.length > 0) {
              // Time spent in the consumer is not the provider's idle gap.
              disarm();
              yield { type: 'text', delta: text };
            }
            arm(this.timeouts.idleMs, 'stream idle');
          }
        } catch (err) {
          attemptFailure = failure ? { error: failure, retryable: false } : this.classify(err);
        }
        disarm();

        // An aborted stream just ends: the abort's reason is the outcome.
        if (!attemptFailure && failure) attemptFailure = { error: failure, retryable: false };
        if (!attemptFailure) {
          const answer = completeAnswer(this.peer, finishReason, toolCalls);
          if ('error' in answer) {
            attemptFailure = answer;
          } else {
            for (const c of answer.calls) yield { type: 'tool_call', call: c };
            if (usage) {
              span.setAttributes({
                'gen_ai.usage.input_tokens': usage.promptTokens,
                'gen_ai.usage.output_tokens': usage.completionTokens,
              });
              yield usage;
            }
            span.setAttribute('gen_ai.response.finish_reasons', [answer.reason]);
            yield report({ type: 'finish', reason: answer.reason });
            return;
          }
        }

        const delay = this.retryDelay(attemptFailure, attempts, firstTokenAt !== undefined, started);
        if (delay === undefined) {
          yield report({ type: 'error', error: attemptFailure.error });
          return;
        }
        log.info(
          {
            code: attemptFailure.error.code,
            status: attemptFailure.error.details?.status,
            attempt: attempts,
            delayMs: delay,
          },
          'chat request failed before the first token; retrying',
        );
        try {
          await untilAborted(sleep(delay, call.signal));
        } catch {
          yield report({ type: 'error', error: failure ?? abortedError() });
          return;
        }
      }
    } finally {
      clearTimeout(totalTimer);
      disarm();
      signal?.removeEventListener('abort', onCallerAbort);
      call.abort();
      permit?.release();
      span.setAttribute('llm.attempts', attempts);
      if (outcome?.type === 'error') {
        recordSpanError(span, outcome.error);
        log.warn(
          {
            code: outcome.error.code,
            status: outcome.error.details?.status,
            attempts,
            elapsedMs: Date.now() - started,
            err: outcome.error.message,
          },
          'chat stream failed',
        );
      }
      span.end();
    }
  }

  private requestBody(
    messages: ChatMessage[],
    tools: ToolSpec[],
    options: ChatOptions,
  ): ChatCompletionCreateParamsStreaming {
    return {
      model: this.model,
      messages: messages.map(toOpenAiMessage),
      stream: true,
      stream_options: { include_usage: true },
      // An empty tools array is rejected by the API; tool_choice without tools too.
      ...(tools.length > 0
        ? {
            tools: tools.map(toOpenAiTool),
            ...(options.toolChoice ? { tool_choice: options.toolChoice } : {}),
          }
        : {}),
      ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
      ...(options.topP !== undefined ? { top_p: options.topP } : {}),
      // max_tokens rather than max_completion_tokens: OpenAI-compatible local servers only know this one.
      ...(options.maxTokens !== undefined ? { max_tokens: options.maxTokens } : {}),
    };
  }

  /** Maps an SDK or transport error to a domain error; provider text is scrubbed of the key. */
  private classify(err: unknown): Failure {
    if (isDomainError(err)) return { error: err, retryable: false };
    if (err instanceof APIConnectionTimeoutError) {
      return {
        error: new DomainError('PROVIDER_TIMEOUT', `${this.peer}: no response headers in time`),
        retryable: true,
      };
    }
    if (err instanceof APIConnectionError) {
      return {
        error: new DomainError('PROVIDER_ERROR', `${this.peer}: connection failed`, { provider: this.peer }),
        retryable: true,
      };
    }
    if (err instanceof APIError) {
      const body = err.error as { message?: unknown } | undefined;
      const providerMessage = this.scrub(
        typeof body?.message === 'string' ? body.message : err.message,
      ).slice(0, MAX_PROVIDER_MESSAGE);
      const details = { provider: this.peer, status: err.status, providerCode: err.code ?? undefined };
      if (err.status === undefined) {
        // An `{"error": …}` object inside the SSE stream.
        return {
          error: new DomainError('PROVIDER_ERROR', `${this.peer} stream error: ${providerMessage}`, details),
          retryable: false,
        };
      }
      return {
        error: new DomainError(
          'PROVIDER_ERROR',
          `${this.peer} returned ${err.status}: ${providerMessage}`,
          details,
        ),
        retryable: err.status === 408 || err.status === 429 || err.status >= 500,
        retryAfterMs: retryAfterMs(err.headers),
      };
    }
    if (err instanceof SyntaxError) {
      return {
        error: new DomainError('PROVIDER_ERROR', `${this.peer}: malformed stream chunk`, {
          provider: this.peer,
        }),
        retryable: false,
      };
    }
    if (err instanceof OpenAIError && isDomainError(err.cause)) {
      return { error: err.cause, retryable: false }; // the token provider's own error (e.g. its timeout)
    }
    // Body read failures (undici "terminated": the connection dropped mid-stream).
    const message = this.scrub(err instanceof Error ? err.message : String(err));
    return {
      error: new DomainError('PROVIDER_ERROR', `${this.peer}: stream failed (${message})`, {
        provider: this.peer,
      }),
      retryable: true,
    };
  }

  /** Delay before the next attempt, or undefined when the failure ends the call. */
  private retryDelay(
    failure: Failure,
    attempts: number,
    gotFirstToken: boolean,
    started: number,
  ): number | undefined {
    if (!failure.retryable || gotFirstToken || attempts > this.maxRetries) return undefined;
    let delay = failure.retryAfterMs;
    if (delay === undefined) {
      const backoff = this.retryBaseDelayMs * 2 ** (attempts - 1);
      delay = Math.min(this.maxRetryDelayMs, backoff) * (0.8 + Math.random() * 0.4);
    }
    if (delay > this.maxRetryDelayMs) return undefined;
    // No point waiting for an attempt that the total deadline would cut short at once.
    if (Date.now() - started + delay >= this.timeouts.totalMs) return undefined;
    return Math.max(0, Math.round(delay));
  }
}

/** Driver 'openai': OpenAI or any OpenAI-compatible server (vLLM, llama.cpp, Ollama…). */
export class OpenAiChatModel extends RemoteChatModel {
  readonly driver = 'openai';

  constructor(options: OpenAiChatModelOptions) {
    const client = new OpenAI({
      // Explicit values everywhere: the SDK otherwise falls back to OPENAI_* environment variables.
      baseURL: options.baseUrl ?? OPENAI_DEFAULT_BASE_URL,
      apiKey: options.apiKey ?? 'not-needed',
      ...commonClientOptions(options),
    });
    super(client, 'openai', options.model, options, options.apiKey);
  }
}

/** Driver 'azure-openai': an Azure OpenAI deployment, with a key or (opt-in) the managed identity. */
export class AzureOpenAiChatModel extends RemoteChatModel {
  readonly driver = 'azure-openai';

  constructor(options: AzureOpenAiChatModelOptions) {
    if (!options.useManagedIdentity && !options.apiKey) {
      throw new Error('azure-openai: apiKey is required unless useManagedIdentity is set');
    }
    const client = new AzureOpenAI({
      // baseURL rather than `endpoint`: the SDK throws when OPENAI_BASE_URL is set alongside `endpoint`.
      baseURL: `${options.endpoint.replace(/\/+$/, '')}/openai`,
      apiVersion: options.apiVersion,
      deployment: options.deployment,
      ...(options.useManagedIdentity
        ? {
            azureADTokenProvider: managedIdentityTokenProvider(
              options.managedIdentityClientId,
              options.tokenTimeoutMs ?? DEFAULT_TOKEN_TIMEOUT_MS,
            ),
          }
        : { apiKey: options.apiKey }),
      ...commonClientOptions(options),
    });
    super(client, 'azure-openai', options.model ?? options.deployment, options, options.apiKey);
  }
}

function commonClientOptions(
  options: RemoteChatModelOptions,
): Pick<ClientOptions, 'organization' | 'project' | 'webhookSecret' | 'maxRetries' | 'timeout' | 'logLevel'> {
  const timeouts = { ...DEFAULT_CHAT_TIMEOUTS, ...options.timeouts };
  return {
    organization: null,
    project: null,
    webhookSecret: null,
    maxRetries: 0, // ours stop at the first token
    timeout: timeouts.totalMs, // only reaches the headers; our deadlines do the real work
    // The SDK's debug logs print the `api-key` header unmasked, and it logs malformed chunks to the
    // console; we log failures ourselves.
    logLevel: 'off',
  };
}

/**
 * Bearer tokens for Cognitive Services from the managed identity. Fetched on first use (never at
 * construction), cached and refreshed by @azure/identity; every fetch is bounded because IMDS can hang.
 */
function managedIdentityTokenProvider(
  clientId: string | undefined,
  timeoutMs: number,
): () => Promise<string> {
  const credential = clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
  const getToken = getBearerTokenProvider(credential, COGNITIVE_SERVICES_SCOPE);
  return () => withTimeout(getToken(), timeoutMs, 'azure-openai managed identity token', 'PROVIDER_TIMEOUT');
}

function toOpenAiMessage(message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
    case 'user':
      return { role: message.role, content: message.content };
    case 'assistant':
      if (!message.toolCalls?.length) return { role: 'assistant', content: message.content };
      return {
        role: 'assistant',
        // null, not '', beside tool calls: some compatible servers reject empty content there.
        content: message.content === '' ? null : message.content,
        tool_calls: message.toolCalls.map((c) => ({
          id: c.id,
          type: 'function' as const,
          function: { name: c.name, arguments: c.arguments },
        })),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  }
}

function toOpenAiTool(tool: ToolSpec): ChatCompletionTool {
  return {
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: tool.parameters },
  };
}

function mapFinishReason(reason: string): FinishReason {
  switch (reason) {
    case 'stop':
    case 'tool_calls':
    case 'length':
    case 'content_filter':
      return reason;
    case 'function_call':
      return 'tool_calls';
    default:
      return 'other';
  }
}

/**
 * The answer of a stream that ended without error: it must carry a finish reason (otherwise it was cut
 * short), and every tool call a name. Some OpenAI-compatible servers omit tool call ids; an id only has
 * to be unique within the turn.
 */
function completeAnswer(
  peer: PeerService,
  reason: FinishReason | undefined,
  toolCalls: Map<number, ToolCall>,
): Failure | { reason: FinishReason; calls: ToolCall[] } {
  if (!reason) {
    return {
      error: new DomainError('PROVIDER_ERROR', `${peer}: stream ended without a finish reason`),
      retryable: false,
    };
  }
  const calls = [...toolCalls.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, c]) => ({ ...c, id: c.id || `call_${index}` }));
  const unnamed = calls.find((c) => !c.name);
  if (unnamed) {
    return {
      error: new DomainError('PROVIDER_ERROR', `${peer}: tool call ${unnamed.id} has no name`),
      retryable: false,
    };
  }
  return { reason, calls };
}

/** `retry-after-ms` (OpenAI/Azure), else `retry-after` in seconds or as an HTTP date. */
function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number.parseFloat(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function asDomainError(err: unknown): DomainError {
  return isDomainError(err)
    ? err
    : new DomainError('PROVIDER_ERROR', err instanceof Error ? err.message : String(err));
}

const abortedError = () => new DomainError('TIMEOUT', 'aborted');

const noop = () => undefined;
