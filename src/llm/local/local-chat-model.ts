import type { ContextValue } from '../../session/session.types';
import type { AfterToolRule, IntentSpec, LocalSpec, SlotSpec } from '../agents/agent.types';
import { ChatModel, type ChatEvent, type ChatMessage, type ChatOptions, type ToolSpec } from '../ports';
import { matchesExample, parseSlot } from './slot-parsers';
import { render } from './templates';

/** What the orchestrator passes in ChatOptions.local for the embedded model. */
export interface LocalModelInput {
  spec: LocalSpec;
  context: Record<string, ContextValue>;
  /** Index in the messages where this agent's part of the conversation starts. */
  since: number;
}

export interface DialogState {
  slots: Record<string, string>;
  pending?: SlotSpec;
  /** The last caller message did not parse into the slot it was asked for. */
  unparsed: boolean;
  /** Index of the caller message that filled the last missing slot (if any). */
  completedAt?: number;
}

const truthy = (v: unknown) => v !== undefined && v !== null && v !== false && v !== '' && v !== 0;

function intentFor(
  spec: LocalSpec,
  text: string,
  context: Record<string, ContextValue>,
): IntentSpec | undefined {
  return spec.intents.find(
    (i) =>
      i.requires.every((k) => truthy(context[k])) &&
      (i.examples.some((e) => matchesExample(text, e)) ||
        i.patterns.some((p) => new RegExp(p, 'i').test(text))),
  );
}

function ruleFor(rules: AfterToolRule[] | undefined, result: unknown): AfterToolRule | undefined {
  return rules?.find(
    (r) =>
      !r.when ||
      Object.entries(r.when).every(([k, v]) => {
        const actual = k
          .split('.')
          .reduce<unknown>(
            (o, key) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[key] : undefined),
            result,
          );
        return actual === v || String(actual) === String(v);
      }),
  );
}

/** Tool results travel as JSON text; anything that is not JSON is kept as the text itself. */
export const parseJson = (s: string): unknown => {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
};

/**
 * Replays the agent's part of the conversation to know which slots are filled. Stateless on purpose:
 * the conversation history is the state, so the model needs no memory of its own and the same history
 * always gives the same answer.
 */
export function dialogState(
  spec: LocalSpec,
  messages: ChatMessage[],
  since: number,
  context: Record<string, ContextValue>,
): DialogState {
  const slots: Record<string, string> = {};
  let unparsed = false;
  let completedAt: number | undefined;
  const pending = () => spec.slots.find((s) => slots[s.name] === undefined);
  for (let i = Math.max(0, since); i < messages.length; i++) {
    const m = messages[i];
    if (m.role === 'user') {
      unparsed = false;
      const next = pending();
      if (!next || intentFor(spec, m.content, context)) continue;
      const value = parseSlot(next, m.content);
      if (value === undefined) {
        unparsed = true;
        continue;
      }
      slots[next.name] = value;
      // One answer may carry more ("Alice Brown, zip six oh six oh one"): fill other name/digit slots too.
      for (const s of spec.slots) {
        if (slots[s.name] === undefined && (s.type === 'digits' || s.type === 'name') && s !== next) {
          const extra = parseSlot(s, m.content);
          if (extra !== undefined && extra !== value) slots[s.name] = extra;
        }
      }
      if (!pending()) completedAt = i;
    } else if (m.role === 'tool') {
      const rule = ruleFor(spec.afterTool[m.name], parseJson(m.content));
      for (const name of rule?.reset ?? []) delete slots[name];
      if (rule?.reset?.length) completedAt = undefined;
    }
  }
  return { slots, pending: pending(), unparsed, completedAt };
}

interface Decision {
  text?: string;
  tool?: { name: string; args: Record<string, string> };
}

/**
 * The embedded, deterministic dialog model (the offline fallback of LLM_DRIVER=local): intents by
 * example phrases or patterns, slot filling for names, digits, dates, yes/no and free text, reply
 * templates, and which tool to call with which slots — all from the agent's YAML `local` section. It
 * is not a language model: it follows the script it is given, fast and predictably.
 */
export class LocalChatModel extends ChatModel {
  readonly driver = 'local';

  async *stream(
    messages: ChatMessage[],
    _tools: ToolSpec[],
    options: ChatOptions,
    signal?: AbortSignal,
  ): AsyncIterable<ChatEvent> {
    const input = options.local as unknown as LocalModelInput | undefined;
    if (!input?.spec) {
      yield { type: 'text', delta: 'Sorry, this agent has no offline script.' };
      yield { type: 'finish', reason: 'stop' };
      return;
    }
    const decision = decide(input, messages);
    if (decision.text) {
      // Word-sized deltas, like a streaming model, so the sentence chunker downstream behaves the same.
      for (const piece of decision.text.match(/\S+\s*/g) ?? []) {
        if (signal?.aborted) return;
        yield { type: 'text', delta: piece };
      }
    }
    if (decision.tool) {
      yield {
        type: 'tool_call',
        call: {
          id: `call_${messages.length}`,
          name: decision.tool.name,
          arguments: JSON.stringify(decision.tool.args),
        },
      };
    }
    yield { type: 'usage', promptTokens: 0, completionTokens: 0, totalTokens: 0 };
    yield { type: 'finish', reason: decision.tool ? 'tool_calls' : 'stop' };
  }
}

function decide({ spec, context, since }: LocalModelInput, messages: ChatMessage[]): Decision {
  const state = dialogState(spec, messages, since, context);
  const vars = { ...context, ...state.slots, context };
  const renderArgs = (args: Record<string, string> | undefined, extra: Record<string, unknown> = {}) =>
    Object.fromEntries(Object.entries(args ?? {}).map(([k, v]) => [k, render(v, { ...vars, ...extra })]));
  const last = messages[messages.length - 1];
  const askPending = (): Decision =>
    state.pending
      ? {
          text: render(
            state.unparsed ? (state.pending.reprompt ?? state.pending.prompt) : state.pending.prompt,
            vars,
          ),
        }
      : {};

  if (last?.role === 'tool') {
    const result = parseJson(last.content);
    const rule = ruleFor(spec.afterTool[last.name], result);
    if (rule) {
      return {
        ...(rule.reply ? { text: render(rule.reply, { ...vars, result }) } : {}),
        ...(rule.tool ? { tool: { name: rule.tool, args: renderArgs(rule.args, { result }) } } : {}),
      };
    }
    // No rule: the reply that went with the call (if any) already said it all.
    const previous = messages[messages.length - 2];
    if (previous?.role === 'assistant' && previous.content.trim()) return {};
    if (result && typeof result === 'object' && 'error' in result) return { text: spec.fallback };
    return askPending();
  }

  const lastUserIndex = messages.length - 1;
  if (last?.role !== 'user' || lastUserIndex < since) return askPending();

  const intent = intentFor(spec, last.content, context);
  if (intent) {
    return {
      ...(intent.reply ? { text: render(intent.reply, vars) } : {}),
      ...(intent.tool ? { tool: { name: intent.tool, args: renderArgs(intent.args) } } : {}),
    };
  }
  if (state.completedAt === lastUserIndex && spec.complete) {
    return {
      ...(spec.complete.reply ? { text: render(spec.complete.reply, vars) } : {}),
      ...(spec.complete.tool
        ? { tool: { name: spec.complete.tool, args: renderArgs(spec.complete.args) } }
        : {}),
    };
  }
  if (state.pending) return askPending();
  if (spec.passThroughTool)
    return { tool: { name: spec.passThroughTool.tool, args: { [spec.passThroughTool.arg]: last.content } } };
  return { text: render(spec.fallback, vars) };
}
