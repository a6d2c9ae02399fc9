import type { Logger } from 'pino';
import { DomainError } from '../common/errors';
import { splitHeard, words } from '../common/words';
import type { ContextValue, HistoryEntry, ToolCallRecord } from '../session/session.types';
import type { SessionWriteQueue } from '../session/session-write-queue';
import type { ExpectedInput } from '../speech/ports';
import { SpanKind } from '@opentelemetry/api';
import { recordSpanError, startSpan } from '../telemetry/spans';
import type { LoadedScenario } from './agents/agent-loader';
import { expectedInputFor, type AgentSpec, type HandoffSpec, type HandoffType } from './agents/agent.types';
import type { CallAction, CallControl } from './call-control.port';
import { dialogState, parseJson, type LocalModelInput } from './local/local-chat-model';
import { render } from './local/templates';
import type { ChatMessage, ChatModel, ToolCall, ToolSpec } from './ports';
import type { ToolRegistry } from './tools/tool-registry';

export interface ConversationState {
  sessionId: string;
  callConnectionId?: string;
  scenario: LoadedScenario;
  agent: string;
  messages: ChatMessage[];
  /** Where the active agent's part of the conversation starts in `messages`. */
  since: number;
  context: Record<string, ContextValue>;
  caller?: string;
  turn: number;
  visited: Set<string>;
}

export interface TurnMetricsSummary {
  turn: number;
  agent: string;
  llm_ttft_ms?: number;
  tool_steps: number;
  prompt_tokens: number;
  completion_tokens: number;
}

export type TurnEvent =
  /** Text for speech, as it streams. */
  | { type: 'text_delta'; agent: string; delta: string }
  /** One complete agent message of the turn. */
  | { type: 'agent_text'; agent: string; text: string }
  | { type: 'tool_call'; agent: string; name: string; arguments: unknown }
  | { type: 'tool_result'; agent: string; name: string; result: unknown; error?: string }
  | { type: 'handoff'; from: string; to: string; mode: HandoffType }
  | { type: 'call_action'; action: CallAction }
  /** The model failed (outage, timeout): the pipeline turns this into a spoken apology. */
  | { type: 'error'; error: DomainError }
  | { type: 'turn_end'; metrics: TurnMetricsSummary };

/** Receives history entries in order instead of the session writer. */
export type HistorySink = (entry: HistoryEntry) => void;

export interface OrchestratorDeps {
  model: ChatModel;
  tools: ToolRegistry;
  callControl: CallControl;
  writer?: SessionWriteQueue;
  maxToolSteps?: number;
  logger?: Logger;
  now?: () => Date;
}

interface StepResult {
  text: string;
  calls: ToolCall[];
  error?: DomainError;
  usage: { prompt: number; completion: number };
}

/**
 * Runs agent turns for one conversation: builds the messages (system prompt + history + context),
 * streams the model, runs the tool loop (with a step limit), performs hand-offs between the scenario's
 * agents, emits text deltas for speech as they come, and records history, context and hand-offs in
 * the session store (through the non-blocking write queue).
 */
export class Orchestrator {
  private readonly maxToolSteps: number;
  private readonly now: () => Date;

  constructor(private readonly deps: OrchestratorDeps) {
    this.maxToolSteps = deps.maxToolSteps ?? 5;
    this.now = deps.now ?? (() => new Date());
  }

  /** A new conversation: the start agent's greeting is the first agent message. */
  start(
    scenario: LoadedScenario,
    sessionId: string,
    options: { caller?: string; callConnectionId?: string; history?: HistorySink } = {},
  ) {
    const agent = scenario.scenario.startAgent;
    const state: ConversationState = {
      sessionId,
      callConnectionId: options.callConnectionId,
      scenario,
      agent,
      messages: [],
      since: 0,
      context: {},
      caller: options.caller,
      turn: 0,
      visited: new Set([agent]),
    };
    const greeting = this.agentSpec(state).greeting;
    state.messages.push({ role: 'assistant', content: greeting });
    this.record(
      state,
      [{ role: 'agent', text: greeting, at: this.now().toISOString(), agent, turn: 0 }],
      options.history,
    );
    this.deps.writer?.update(sessionId, { agent, scenario: scenario.scenario.name });
    return { state, greeting: { agent, text: greeting } };
  }

  agentSpec(state: ConversationState): AgentSpec {
    const spec = state.scenario.agents.get(state.agent);
    if (!spec)
      throw new DomainError(
        'INTERNAL',
        `agent ${state.agent} is not in scenario ${state.scenario.scenario.name}`,
      );
    return spec;
  }

  /** What the caller's next turn should contain (for the STT grammar / phrase hints). */
  expectedInput(state: ConversationState): ExpectedInput {
    const spec = this.agentSpec(state);
    if (spec.local.slots.length === 0) return 'free';
    return expectedInputFor(
      dialogState(spec.local, state.messages, state.since, state.context).pending?.type,
    );
  }

  /**
   * Barge-in: of the assistant messages from index `from` on (one reply), the conversation keeps only
   * the words the caller heard — the message that was cut ends with "…", later ones are emptied — and
   * heard words no message holds yet (the model was still writing it) are added as a cut message. So
   * the model never believes it said what the caller did not hear.
   */
  keepHeard(state: ConversationState, from: number, heard: string): void {
    const indices: number[] = [];
    for (let i = Math.max(0, from); i < state.messages.length; i++) {
      const m = state.messages[i];
      if (m.role === 'assistant' && m.content) indices.push(i);
    }
    const heardWords = words(heard);
    const { parts, left } = splitHeard(
      indices.map((i) => state.messages[i].content as string),
      heardWords.length,
    );
    parts.forEach(({ text, cut }, k) => {
      if (!cut) return;
      const m = state.messages[indices[k]] as Extract<ChatMessage, { role: 'assistant' }>;
      state.messages[indices[k]] = { ...m, content: text ? `${text} …` : '' };
    });
    if (left > 0)
      state.messages.push({ role: 'assistant', content: `${heardWords.slice(-left).join(' ')} …` });
  }

  async *runTurn(
    state: ConversationState,
    callerText: string,
    signal?: AbortSignal,
    /** Takes this turn's history entries instead of the writer (the media cascade records them as heard). */
    history?: HistorySink,
  ): AsyncIterable<TurnEvent> {
    state.turn++;
    const turn = state.turn;
    const started = performance.now();
    let ttft: number | undefined;
    let toolSteps = 0;
    let promptTokens = 0;
    let completionTokens = 0;
    state.messages.push({ role: 'user', content: callerText });
    this.record(state, [{ role: 'caller', text: callerText, at: this.now().toISOString(), turn }], history);

    try {
      for (let step = 0; step <= this.maxToolSteps; step++) {
        if (signal?.aborted) return;
        const agent = this.agentSpec(state);
        const span = startSpan('llm.step', SpanKind.INTERNAL, {
          attributes: { 'voxline.agent': agent.name, 'voxline.turn': turn, 'voxline.step': step },
        });
        let result: StepResult;
        try {
          result = yield* this.step(state, agent, signal, () => {
            ttft ??= performance.now() - started;
          });
          if (result.error) recordSpanError(span, result.error);
        } finally {
          span.end();
        }
        // Cut off (barge-in, hang-up): the owner records what the caller heard, not what was written.
        if (signal?.aborted) return;
        const { text, calls, error, usage } = result;
        promptTokens += usage.prompt;
        completionTokens += usage.completion;
        if (calls.length > 0) ttft ??= performance.now() - started;
        if (error) {
          yield { type: 'error', error };
          break;
        }
        state.messages.push({
          role: 'assistant',
          content: text,
          ...(calls.length ? { toolCalls: calls } : {}),
        });
        const records: ToolCallRecord[] = [];
        if (text.trim()) yield { type: 'agent_text', agent: agent.name, text: text.trim() };
        if (calls.length === 0) {
          this.record(
            state,
            [{ role: 'agent', text: text.trim(), at: this.now().toISOString(), agent: agent.name, turn }],
            history,
          );
          break;
        }
        if (step === this.maxToolSteps) {
          const apology =
            "Sorry, I'm having trouble with that request. Let me try again — could you repeat it?";
          this.deps.logger?.warn(
            { turn, agent: agent.name, maxToolSteps: this.maxToolSteps },
            'tool step limit reached',
          );
          yield { type: 'agent_text', agent: agent.name, text: apology };
          state.messages.push({ role: 'assistant', content: apology });
          break;
        }
        toolSteps++;
        let endTurn = false;
        try {
          for (const call of calls) {
            const parsed = parseJson(call.arguments);
            yield { type: 'tool_call', agent: agent.name, name: call.name, arguments: parsed };
            const handoff = state.scenario.scenario.handoffs.find(
              (h) => h.from === agent.name && h.tool === call.name,
            );
            if (handoff) {
              records.push({ name: call.name, arguments: parsed, result: { handoff: handoff.to } });
              state.messages.push({
                role: 'tool',
                toolCallId: call.id,
                name: call.name,
                content: JSON.stringify({ handoff: handoff.to }),
              });
              yield* this.handoff(state, handoff, turn, history);
              // Announced: the new agent greets and the caller answers next. Discrete: it answers now.
              endTurn = handoff.type === 'announced';
              break;
            }
            const actions: CallAction[] = [];
            const outcome = await this.deps.tools.execute(call.name, call.arguments, {
              sessionId: state.sessionId,
              agent: agent.name,
              context: state.context,
              setContext: (values) => {
                Object.assign(state.context, values);
                this.deps.writer?.setContext(state.sessionId, values);
              },
              requestCallAction: async (action) => {
                actions.push(action);
                await this.deps.callControl.request(action, {
                  sessionId: state.sessionId,
                  callConnectionId: state.callConnectionId,
                });
              },
              signal: signal ?? new AbortController().signal,
            });
            for (const action of actions) yield { type: 'call_action', action };
            const content = outcome.ok ? outcome.result : { error: outcome.error };
            records.push({
              name: call.name,
              arguments: parsed,
              ...(outcome.ok ? { result: outcome.result } : { error: outcome.error }),
            });
            state.messages.push({
              role: 'tool',
              toolCallId: call.id,
              name: call.name,
              content: JSON.stringify(content),
            });
            yield {
              type: 'tool_result',
              agent: agent.name,
              name: call.name,
              result: outcome.ok ? outcome.result : null,
              ...(outcome.ok ? {} : { error: outcome.error }),
            };
          }
        } finally {
          // Also when the turn is cut mid-tools (the generator is returned at a yield): every call of
          // the message gets an answer, and the tools that ran are on record.
          this.answerOpenCalls(state, calls);
          this.record(
            state,
            [
              {
                role: 'agent',
                text: text.trim(),
                at: this.now().toISOString(),
                agent: agent.name,
                turn,
                toolCalls: records,
              },
            ],
            history,
          );
        }
        if (endTurn) break;
      }
    } finally {
      const metrics: TurnMetricsSummary = {
        turn,
        agent: state.agent,
        ...(ttft !== undefined ? { llm_ttft_ms: Math.round(ttft * 10) / 10 } : {}),
        tool_steps: toolSteps,
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
      };
      if (!signal?.aborted) yield { type: 'turn_end', metrics };
    }
  }

  /** One model call: yields text deltas as they stream, returns the assembled result. */
  private async *step(
    state: ConversationState,
    agent: AgentSpec,
    signal: AbortSignal | undefined,
    onFirstOutput: () => void,
  ): AsyncGenerator<TurnEvent, StepResult> {
    const handoffs = state.scenario.scenario.handoffs.filter((h) => h.from === agent.name);
    const tools: ToolSpec[] = [
      ...agent.tools.filter((t) => this.deps.tools.has(t)).map((t) => this.deps.tools.spec(t)),
      ...handoffs.map((h) => ({
        name: h.tool,
        description: h.description ?? `Hand the caller over to the ${h.to} agent.`,
        parameters: { type: 'object', properties: {}, additionalProperties: false },
      })),
    ];
    const system = render(agent.prompt, {
      caller: state.caller ?? 'an unidentified caller',
      context: JSON.stringify(state.context),
      time: this.now().toISOString(),
      agent: agent.name,
    });
    const local: LocalModelInput = { spec: agent.local, context: state.context, since: state.since };
    let text = '';
    const calls: ToolCall[] = [];
    const usage = { prompt: 0, completion: 0 };
    let error: DomainError | undefined;
    let finished = false;
    for await (const event of this.deps.model.stream(
      [{ role: 'system', content: system }, ...state.messages],
      tools,
      { ...agent.model, local: local as unknown as Record<string, unknown>, sessionId: state.sessionId },
      signal,
    )) {
      switch (event.type) {
        case 'text':
          onFirstOutput();
          text += event.delta;
          yield { type: 'text_delta', agent: agent.name, delta: event.delta };
          break;
        case 'tool_call':
          calls.push(event.call);
          break;
        case 'usage':
          usage.prompt += event.promptTokens;
          usage.completion += event.completionTokens;
          break;
        case 'finish':
          finished = true;
          break;
        case 'error':
          error = event.error;
          break;
      }
    }
    if (!error && !finished && !signal?.aborted)
      error = new DomainError('PROVIDER_ERROR', 'the model stream ended without a finish reason');
    return { text, calls, error, usage };
  }

  private *handoff(
    state: ConversationState,
    handoff: HandoffSpec,
    turn: number,
    history: HistorySink | undefined,
  ): Iterable<TurnEvent> {
    const from = state.agent;
    const returning = state.visited.has(handoff.to);
    state.agent = handoff.to;
    state.visited.add(handoff.to);
    if (!handoff.shareContext) state.context = {};
    const at = this.now().toISOString();
    this.record(
      state,
      [{ role: 'system', text: `handoff ${from} → ${handoff.to} (${handoff.type})`, at, turn }],
      history,
    );
    this.deps.writer?.update(state.sessionId, { agent: handoff.to });
    this.deps.writer?.setContext(state.sessionId, {
      lastHandoff: { from, to: handoff.to, mode: handoff.type, at },
    });
    yield { type: 'handoff', from, to: handoff.to, mode: handoff.type };
    if (handoff.type === 'announced') {
      const spec = this.agentSpec(state);
      const greeting = returning ? spec.returnGreeting : spec.greeting;
      state.since = state.messages.length;
      state.messages.push({ role: 'assistant', content: greeting });
      yield { type: 'text_delta', agent: spec.name, delta: greeting };
      yield { type: 'agent_text', agent: spec.name, text: greeting };
      this.record(state, [{ role: 'agent', text: greeting, at, agent: spec.name, turn }], history);
    } else {
      // Discrete: the new agent picks up the caller's last message as if it had heard it.
      let lastUser = state.messages.length - 1;
      while (lastUser > 0 && state.messages[lastUser].role !== 'user') lastUser--;
      state.since = lastUser;
    }
  }

  /**
   * Every tool call of the assistant message that made `calls` gets a tool message (the model API
   * rejects a conversation where one is missing): calls not run get an error answer, placed with the
   * others right after that message.
   */
  private answerOpenCalls(state: ConversationState, calls: ToolCall[]): void {
    if (calls.length === 0) return;
    let at = state.messages.length - 1;
    for (; at >= 0; at--) {
      const m = state.messages[at];
      if (m.role === 'assistant' && m.toolCalls?.some((c) => c.id === calls[0].id)) break;
    }
    if (at < 0) return;
    const answered = new Set<string>();
    let end = at + 1;
    for (; end < state.messages.length; end++) {
      const m = state.messages[end];
      if (m.role !== 'tool') break;
      answered.add(m.toolCallId);
    }
    const missing: ChatMessage[] = calls
      .filter((c) => !answered.has(c.id))
      .map((c) => ({
        role: 'tool',
        toolCallId: c.id,
        name: c.name,
        content: JSON.stringify({ error: 'not run: the turn ended first' }),
      }));
    state.messages.splice(end, 0, ...missing);
  }

  private record(state: ConversationState, entries: HistoryEntry[], history?: HistorySink): void {
    for (const e of entries) {
      if (!e.text && !e.toolCalls?.length) continue;
      if (history) history(e);
      else this.deps.writer?.appendHistory(state.sessionId, e);
    }
  }

  /**
   * Takes back a turn nobody heard an answer to (the caller went on speaking): its messages from
   * `from` (the caller's message) on are removed, so the merged utterance becomes one turn.
   */
  retractTurn(state: ConversationState, from: number): void {
    if (from < state.since || from > state.messages.length) return;
    state.messages.length = from;
    state.turn = Math.max(0, state.turn - 1);
  }
}
