import { loadScenarioDir } from '../../../src/llm/agents/agent-loader';
import { RecordingCallControl } from '../../../src/llm/call-control.port';
import { DEFAULT_SCENARIOS_DIR } from '../../../src/llm/llm.factory';
import { Orchestrator, type TurnEvent } from '../../../src/llm/orchestrator';
import { ChatModel, type ChatEvent, type ChatMessage, type ToolSpec } from '../../../src/llm/ports';
import { insuranceTools } from '../../../src/llm/tools/insurance-tools';
import { ToolRegistry } from '../../../src/llm/tools/tool-registry';
import { DomainError } from '../../../src/common/errors';
import { join } from 'node:path';

/** A model that plays back scripted responses, one per call, and records what it was sent. */
class ScriptedModel extends ChatModel {
  readonly driver = 'scripted';
  readonly calls: Array<{ messages: ChatMessage[]; tools: string[] }> = [];
  constructor(private readonly script: ChatEvent[][]) {
    super();
  }
  async *stream(messages: ChatMessage[], tools: ToolSpec[]): AsyncIterable<ChatEvent> {
    this.calls.push({ messages, tools: tools.map((t) => t.name) });
    const next = this.script.shift() ?? [
      { type: 'text', delta: 'ok' },
      { type: 'finish', reason: 'stop' },
    ];
    for (const e of next) yield e;
  }
}

const tools = new ToolRegistry().register(
  ...insuranceTools(join(DEFAULT_SCENARIOS_DIR, 'insurance', 'data')),
);
const scenario = loadScenarioDir(DEFAULT_SCENARIOS_DIR, 'insurance', tools.names());
const call = (name: string, args = {}): ChatEvent => ({
  type: 'tool_call',
  call: { id: `id-${name}`, name, arguments: JSON.stringify(args) },
});
const finish = (reason: 'stop' | 'tool_calls' = 'stop'): ChatEvent => ({ type: 'finish', reason });
const say = (text: string): ChatEvent => ({ type: 'text', delta: text });

async function turn(o: Orchestrator, state: ReturnType<Orchestrator['start']>['state'], text: string) {
  const events: TurnEvent[] = [];
  for await (const e of o.runTurn(state, text)) events.push(e);
  return events;
}

describe('Orchestrator', () => {
  it('offers the agent tools plus its hand-off tools, with the rendered system prompt first', async () => {
    const model = new ScriptedModel([[say('Hello'), finish()]]);
    const o = new Orchestrator({ model, tools, callControl: new RecordingCallControl() });
    const { state } = o.start(scenario, 's1', { caller: 'Alice' });
    await turn(o, state, 'hi');
    expect(model.calls[0].tools).toEqual([
      'verify_caller',
      'escalate_to_human',
      'end_call',
      'handoff_to_claims',
      'handoff_to_policy',
    ]);
    expect(model.calls[0].messages[0]).toMatchObject({
      role: 'system',
      content: expect.stringContaining('Caller: Alice.'),
    });
  });

  it('streams text deltas before the complete agent message and reports llm_ttft_ms', async () => {
    const model = new ScriptedModel([[say('Sure, '), say('one moment.'), finish()]]);
    const o = new Orchestrator({ model, tools, callControl: new RecordingCallControl() });
    const { state } = o.start(scenario, 's1');
    const events = await turn(o, state, 'hi');
    expect(events.map((e) => e.type)).toEqual(['text_delta', 'text_delta', 'agent_text', 'turn_end']);
    expect(events[2]).toMatchObject({ text: 'Sure, one moment.' });
    expect(events[3]).toMatchObject({ metrics: { turn: 1, tool_steps: 0, llm_ttft_ms: expect.any(Number) } });
  });

  it('runs tools and feeds results back; a malformed tool argument becomes an error the model sees', async () => {
    const model = new ScriptedModel([
      [
        { type: 'tool_call', call: { id: 'v', name: 'verify_caller', arguments: '{"name": "Alice' } },
        finish('tool_calls'),
      ],
      [call('verify_caller', { name: 'Alice Brown', zip_or_last4: '1234' }), finish('tool_calls')],
      [say('Verified.'), finish()],
    ]);
    const o = new Orchestrator({ model, tools, callControl: new RecordingCallControl() });
    const { state } = o.start(scenario, 's1');
    const events = await turn(o, state, 'alice brown 1234');
    const results = events.filter((e) => e.type === 'tool_result');
    expect(results[0]).toMatchObject({
      name: 'verify_caller',
      error: expect.stringMatching(/^malformed arguments/),
    });
    expect(results[1]).toMatchObject({
      name: 'verify_caller',
      result: { verified: true, firstName: 'Alice' },
    });
    expect(state.context).toMatchObject({ authenticated: true, callerName: 'Alice Brown' });
    expect(model.calls[1].messages.at(-1)).toMatchObject({
      role: 'tool',
      content: expect.stringContaining('malformed arguments'),
    });
  });

  it('stops a tool loop at the step limit with a spoken apology', async () => {
    const loop = Array.from({ length: 10 }, () => [
      call('lookup_policy', { question: 'x' }),
      finish('tool_calls'),
    ]);
    const o = new Orchestrator({
      model: new ScriptedModel(loop),
      tools,
      callControl: new RecordingCallControl(),
      maxToolSteps: 2,
    });
    const { state } = o.start(scenario, 's1');
    const events = await turn(o, state, 'loop');
    expect(events.filter((e) => e.type === 'tool_call')).toHaveLength(2);
    expect(events.filter((e) => e.type === 'agent_text').at(-1)).toMatchObject({
      text: expect.stringMatching(/^Sorry, I'm having trouble/),
    });
  });

  it('announced hand-off: the new agent greets and the turn ends', async () => {
    const model = new ScriptedModel([[call('handoff_to_claims'), finish('tool_calls')]]);
    const o = new Orchestrator({ model, tools, callControl: new RecordingCallControl() });
    const { state } = o.start(scenario, 's1');
    const events = await turn(o, state, 'i had an accident');
    expect(events.filter((e) => e.type === 'handoff')).toEqual([
      { type: 'handoff', from: 'authentication', to: 'claims', mode: 'announced' },
    ]);
    expect(events.filter((e) => e.type === 'agent_text').at(-1)).toMatchObject({
      agent: 'claims',
      text: expect.stringMatching(/^This is the claims team/),
    });
    expect(model.calls).toHaveLength(1);
    expect(state.agent).toBe('claims');
  });

  it('discrete hand-off: the new agent answers the same caller message at once', async () => {
    const model = new ScriptedModel([
      [call('handoff_to_claims'), finish('tool_calls')],
      [call('handoff_to_policy'), finish('tool_calls')],
      [say('Your deductible is five hundred dollars.'), finish()],
    ]);
    const o = new Orchestrator({ model, tools, callControl: new RecordingCallControl() });
    const { state } = o.start(scenario, 's1');
    await turn(o, state, 'claim please');
    const events = await turn(o, state, 'what is my deductible');
    expect(events.find((e) => e.type === 'handoff')).toEqual({
      type: 'handoff',
      from: 'claims',
      to: 'policy',
      mode: 'discrete',
    });
    expect(events.filter((e) => e.type === 'agent_text')).toEqual([
      { type: 'agent_text', agent: 'policy', text: 'Your deductible is five hundred dollars.' },
    ]);
  });

  it('turns a provider failure or a stream without a finish reason into an error event', async () => {
    const outage = new ScriptedModel([
      [{ type: 'error', error: new DomainError('PROVIDER_TIMEOUT', 'no first token within 8000 ms') }],
    ]);
    const o1 = new Orchestrator({ model: outage, tools, callControl: new RecordingCallControl() });
    const s1 = o1.start(scenario, 'a').state;
    expect((await turn(o1, s1, 'hi')).find((e) => e.type === 'error')).toMatchObject({
      error: { code: 'PROVIDER_TIMEOUT' },
    });
    const truncated = new ScriptedModel([[say('Half a sent')]]);
    const o2 = new Orchestrator({ model: truncated, tools, callControl: new RecordingCallControl() });
    const s2 = o2.start(scenario, 'b').state;
    expect((await turn(o2, s2, 'hi')).find((e) => e.type === 'error')).toMatchObject({
      error: { code: 'PROVIDER_ERROR', message: expect.stringMatching(/without a finish reason/) },
    });
  });

  it('passes end_call and escalate_to_human to the CallControl port as typed actions', async () => {
    const callControl = new RecordingCallControl();
    const model = new ScriptedModel([
      [say('Goodbye.'), call('end_call', { reason: 'done' }), finish('tool_calls')],
      [finish()],
    ]);
    const o = new Orchestrator({ model, tools, callControl });
    const { state } = o.start(scenario, 'sess-9', { callConnectionId: 'call-9' });
    const events = await turn(o, state, 'bye');
    expect(events.find((e) => e.type === 'call_action')).toEqual({
      type: 'call_action',
      action: { type: 'hangup_requested', reason: 'done' },
    });
    expect(callControl.actions).toEqual([
      { type: 'hangup_requested', reason: 'done', sessionId: 'sess-9', callConnectionId: 'call-9' },
    ]);
  });

  it('exposes the expected input of the next caller turn and cuts an interrupted agent message', async () => {
    const o = new Orchestrator({
      model: new ScriptedModel([]),
      tools,
      callControl: new RecordingCallControl(),
    });
    const { state } = o.start(scenario, 's1');
    expect(o.expectedInput(state)).toBe('name');
    state.messages.push({ role: 'user', content: 'alice brown' });
    expect(o.expectedInput(state)).toBe('digits');
    state.messages.push({
      role: 'assistant',
      content: 'Thanks Alice. Please tell me your ZIP code or the last four digits.',
    });
    o.keepHeard(state, state.messages.length - 1, 'Thanks Alice. Please tell me');
    expect(state.messages.at(-1)).toEqual({ role: 'assistant', content: 'Thanks Alice. Please tell me …' });
  });
});
