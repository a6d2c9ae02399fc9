import { loadScenarioDir } from '../../../src/llm/agents/agent-loader';
import { LocalChatModel, dialogState } from '../../../src/llm/local/local-chat-model';
import { parseDate, parseDigits, parseName, parseYesNo } from '../../../src/llm/local/slot-parsers';
import { DEFAULT_SCENARIOS_DIR } from '../../../src/llm/llm.factory';
import type { ChatEvent, ChatMessage } from '../../../src/llm/ports';

const TOOLS = new Set(['verify_caller', 'record_claim', 'lookup_policy', 'escalate_to_human', 'end_call']);
const { agents } = loadScenarioDir(DEFAULT_SCENARIOS_DIR, 'insurance', TOOLS);
const auth = agents.get('authentication')!.local;
const policy = agents.get('policy')!.local;

async function answer(spec = auth, messages: ChatMessage[], context = {}) {
  const events: ChatEvent[] = [];
  for await (const e of new LocalChatModel().stream(messages, [], { local: { spec, context, since: 0 } }))
    events.push(e);
  return {
    text: events.flatMap((e) => (e.type === 'text' ? [e.delta] : [])).join(''),
    tool: events.find((e) => e.type === 'tool_call'),
    finish: events.find((e) => e.type === 'finish'),
  };
}

describe('slot parsers', () => {
  it('extracts names, digits, dates and yes/no from spoken text', () => {
    expect(parseName('my name is alice brown')).toBe('Alice Brown');
    expect(parseName("uh it's Bob Martinez and my zip is 94105")).toBe('Bob Martinez');
    expect(parseName('i would like to report a claim please')).toBeUndefined();
    expect(parseDigits('six oh six oh one')).toBe('60601');
    expect(parseDigits('it is 6 0 6 0 1', [5])).toBe('60601');
    expect(parseDigits('one two three', [4, 5])).toBeUndefined();
    expect(parseDate('it happened yesterday evening around six')).toBe('yesterday evening');
    expect(parseYesNo("yes that's right")).toBe('yes');
    expect(parseYesNo('no not really')).toBe('no');
  });
});

describe('LocalChatModel (the embedded rules model)', () => {
  it('asks for the next slot after filling one, and streams the reply as word deltas', async () => {
    const r = await answer(auth, [{ role: 'user', content: 'my name is alice brown' }]);
    expect(r.text).toBe(
      'Thanks, Alice Brown. Please tell me your ZIP code or the last four digits of your social security number.',
    );
    expect(r.finish).toEqual({ type: 'finish', reason: 'stop' });
  });

  it('calls the completion tool with the slots once every slot is filled, even from one utterance', async () => {
    const r = await answer(auth, [
      { role: 'user', content: "it's alice brown and my zip is six oh six oh one" },
    ]);
    expect(r.tool).toMatchObject({
      type: 'tool_call',
      call: {
        name: 'verify_caller',
        arguments: JSON.stringify({ name: 'Alice Brown', zip_or_last4: '60601' }),
      },
    });
    expect(r.finish).toEqual({ type: 'finish', reason: 'tool_calls' });
  });

  it('re-asks with the reprompt when the answer does not parse', async () => {
    const r = await answer(auth, [
      { role: 'user', content: 'alice brown' },
      { role: 'assistant', content: 'zip?' },
      { role: 'user', content: 'i do not remember it' },
    ]);
    expect(r.text).toMatch(/^Sorry, I need five digits/);
  });

  it('follows the after-tool rule matching the result, clearing slots when verification fails', async () => {
    const base: ChatMessage[] = [
      { role: 'user', content: 'alice brown' },
      { role: 'user', content: '1 1 1 1 1' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'verify_caller', arguments: '{}' }] },
    ];
    const failed = await answer(auth, [
      ...base,
      { role: 'tool', toolCallId: 'c1', name: 'verify_caller', content: '{"verified":false}' },
    ]);
    expect(failed.text).toMatch(/couldn't verify those details/);
    const state = dialogState(
      auth,
      [...base, { role: 'tool', toolCallId: 'c1', name: 'verify_caller', content: '{"verified":false}' }],
      0,
      {},
    );
    expect(state.slots).toEqual({});
    expect(state.pending?.name).toBe('caller_name');
    const ok = await answer(auth, [
      ...base,
      {
        role: 'tool',
        toolCallId: 'c1',
        name: 'verify_caller',
        content: '{"verified":true,"firstName":"Alice"}',
      },
    ]);
    expect(ok.text).toMatch(/^Thank you, Alice, you're verified/);
  });

  it('applies an intent only when what it requires is in the context', async () => {
    const before = await answer(auth, [{ role: 'user', content: 'i want to report a claim' }]);
    expect(before.tool).toBeUndefined();
    expect(before.text).toMatch(/full name/);
    const after = await answer(auth, [{ role: 'user', content: 'i want to report a claim' }], {
      authenticated: true,
    });
    expect(after.tool).toMatchObject({ call: { name: 'handoff_to_claims' } });
  });

  it('says the intent reply and calls its tool together (goodbye → end_call)', async () => {
    const r = await answer(auth, [{ role: 'user', content: 'no thanks goodbye' }]);
    expect(r.text).toBe('Thank you for calling Contoso Insurance. Goodbye.');
    expect(r.tool).toMatchObject({
      call: { name: 'end_call', arguments: '{"reason":"caller said goodbye"}' },
    });
    // After the tool returns there is nothing more to say.
    const after = await answer(auth, [
      { role: 'user', content: 'goodbye' },
      { role: 'assistant', content: 'Goodbye.', toolCalls: [{ id: 'x', name: 'end_call', arguments: '{}' }] },
      { role: 'tool', toolCallId: 'x', name: 'end_call', content: '{"status":"ok"}' },
    ]);
    expect(after.text).toBe('');
    expect(after.tool).toBeUndefined();
  });

  it('routes free questions through the pass-through tool and reads the answer back', async () => {
    const q = await answer(policy, [{ role: 'user', content: 'does my insurance cover a burst pipe' }]);
    expect(q.tool).toMatchObject({
      call: { name: 'lookup_policy', arguments: '{"question":"does my insurance cover a burst pipe"}' },
    });
    const a = await answer(policy, [
      { role: 'user', content: 'pipes?' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'q', name: 'lookup_policy', arguments: '{}' }] },
      {
        role: 'tool',
        toolCallId: 'q',
        name: 'lookup_policy',
        content: '{"found":true,"answer":"Yes, burst pipes are covered."}',
      },
    ]);
    expect(a.text).toBe('Yes, burst pipes are covered. Is there anything else you would like to know?');
  });
});
