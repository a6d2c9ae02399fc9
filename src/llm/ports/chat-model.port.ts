import type { DomainError } from '../../common/errors';

/** A tool call as the model asked for it; `arguments` is the raw JSON text the model produced. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolCallId: string; name: string; content: string };

/** A tool offered to the model: JSON-schema parameters (OpenAI function-calling shape). */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** The agent's section for the embedded rules model (opaque to remote drivers). */
export type LocalModelSpec = Record<string, unknown>;

export interface ChatOptions {
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  toolChoice?: 'auto' | 'none' | 'required';
  /** Agent data for the embedded local model; remote drivers ignore it. */
  local?: LocalModelSpec;
  /** Correlation for logs and spans. */
  sessionId?: string;
}

export type FinishReason = 'stop' | 'tool_calls' | 'length' | 'content_filter' | 'other';

export type ChatEvent =
  | { type: 'text'; delta: string }
  /** A complete tool call, assembled from the argument fragments the model streamed. */
  | { type: 'tool_call'; call: ToolCall }
  | { type: 'usage'; promptTokens: number; completionTokens: number; totalTokens: number }
  | { type: 'finish'; reason: FinishReason }
  /**
   * The stream failed (provider error, timeout, stall, missing finish reason). Always the last event;
   * codes: PROVIDER_ERROR, PROVIDER_TIMEOUT, CAPACITY_EXCEEDED (limiter queue), TIMEOUT (aborted).
   */
  | { type: 'error'; error: DomainError };

/**
 * Streaming chat completion with tools. The stream always ends with exactly one `finish` or one
 * `error` event — never silently, never a hang: time to first token, idle gap between chunks and total
 * time are bounded; retries happen only before the first token.
 */
export abstract class ChatModel {
  abstract readonly driver: string;
  abstract stream(
    messages: ChatMessage[],
    tools: ToolSpec[],
    options: ChatOptions,
    signal?: AbortSignal,
  ): AsyncIterable<ChatEvent>;
}
