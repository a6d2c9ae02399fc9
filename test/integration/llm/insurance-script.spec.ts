import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { RecordingCallControl } from '../../../src/llm/call-control.port';
import { ConcurrencyLimiter } from '../../../src/llm/drivers/concurrency-limiter';
import { OpenAiChatModel } from '../../../src/llm/drivers/openai-chat-model';
import { DEFAULT_SCENARIOS_DIR } from '../../../src/llm/llm.factory';
import { loadScenarioDir } from '../../../src/llm/agents/agent-loader';
import { Orchestrator, type TurnEvent } from '../../../src/llm/orchestrator';
import { insuranceTools } from '../../../src/llm/tools/insurance-tools';
import { ToolRegistry } from '../../../src/llm/tools/tool-registry';
import { MemorySessionStore } from '../../../src/session/memory-session-store';
import { SessionWriteQueue } from '../../../src/session/session-write-queue';
import { OpenAiSseFake, textStream, type ScriptedResponse } from '../../fakes/openai-sse-server';

const SCRIPT = readFileSync(join(__dirname, '..', '..', 'fixtures', 'insurance-claim.script'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

/** A tool call whose JSON arguments arrive split across two chunks, as real models send them. */
function toolCall(id: string, name: string, args: Record<string, unknown>, text?: string): ScriptedResponse {
  const json = JSON.stringify(args);
  const half = Math.floor(json.length / 2);
  return {
    kind: 'stream',
    steps: [
      ...(text ? [{ text }] : []),
      { toolCall: { index: 0, id, name, arguments: json.slice(0, half) } },
      { toolCall: { index: 0, arguments: json.slice(half) } },
      { finish: 'tool_calls' },
      { usage: { prompt: 100, completion: 20 } },
    ],
  };
}

describe('the default insurance script with a remote model (real openai client → local SSE fake driving tool calls)', () => {
  const fake = new OpenAiSseFake();
  beforeAll(() => fake.start());
  afterAll(() => fake.close());

  it('authenticates, hands off, records a claim with a claim number in the session, and hangs up', async () => {
    // What a capable model would answer at each step of the conversation.
    fake.enqueue(
      textStream(['Thanks, Alice. ', 'What is your ZIP code?']),
      toolCall('c1', 'verify_caller', { name: 'Alice Brown', zip_or_last4: '60601' }),
      textStream(["You're verified, Alice. How can I help?"]),
      toolCall('c2', 'handoff_to_claims', {}),
      textStream(['I am sorry. When did it happen?']),
      textStream(['Where did it happen?']),
      toolCall('c3', 'record_claim', {
        what: 'a tree fell on my car',
        when: 'yesterday evening',
        where: 'Chicago',
      }),
      textStream(['Your claim is recorded. Anything else?']),
      toolCall('c4', 'end_call', { reason: 'caller is done' }, 'Goodbye!'),
      textStream(['']),
    );
    const model = new OpenAiChatModel({
      baseUrl: fake.url,
      model: 'gpt-test',
      limiter: new ConcurrencyLimiter({ name: 'test', maxInFlight: 4, queueTimeoutMs: 1000 }),
      timeouts: { firstTokenMs: 2000, idleMs: 2000, totalMs: 10_000 },
    });
    const tools = new ToolRegistry().register(
      ...insuranceTools(join(DEFAULT_SCENARIOS_DIR, 'insurance', 'data')),
    );
    const store = new MemorySessionStore(600);
    const writer = new SessionWriteQueue(store, pino({ level: 'silent' }), { maxPending: 1000 });
    const session = await store.create({});
    const callControl = new RecordingCallControl();
    const o = new Orchestrator({ model, tools, callControl, writer });
    const { state } = o.start(loadScenarioDir(DEFAULT_SCENARIOS_DIR, 'insurance', tools.names()), session.id);

    const events: TurnEvent[] = [];
    for (const line of SCRIPT) {
      for await (const e of o.runTurn(state, line)) events.push(e);
      if (events.some((e) => e.type === 'call_action')) break;
    }
    await writer.flush(1000);

    expect(events.filter((e) => e.type === 'error')).toEqual([]);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'tool_result',
        name: 'verify_caller',
        result: expect.objectContaining({ verified: true }),
      }),
    );
    expect(events).toContainEqual({
      type: 'handoff',
      from: 'authentication',
      to: 'claims',
      mode: 'announced',
    });
    const claim = events.find((e) => e.type === 'tool_result' && e.name === 'record_claim') as Extract<
      TurnEvent,
      { type: 'tool_result' }
    >;
    expect(claim.result).toMatchObject({ claimNumber: expect.stringMatching(/^CLM-\d{6}$/) });
    expect(callControl.actions).toEqual([
      expect.objectContaining({ type: 'hangup_requested', sessionId: session.id }),
    ]);

    // The session record holds the claim, the hand-off and the conversation.
    const stored = await store.get(session.id);
    expect(stored?.context).toMatchObject({
      authenticated: true,
      claimNumber: (claim.result as { claimNumber: string }).claimNumber,
    });
    expect(
      stored?.history.some(
        (h) => h.role === 'system' && h.text === 'handoff authentication → claims (announced)',
      ),
    ).toBe(true);
    expect(stored?.agent).toBe('claims');

    // The model was sent the tools of the active agent and the tool results of earlier steps.
    const afterVerify = fake.requests[2].body as {
      messages: Array<{ role: string; content: string }>;
      tools: Array<{ function: { name: string } }>;
    };
    expect(afterVerify.messages.at(-1)).toMatchObject({
      role: 'tool',
      content: expect.stringContaining('"verified":true'),
    });
    const claimsRequest = fake.requests.find((r) =>
      (r.body.tools as Array<{ function: { name: string } }> | undefined)?.some(
        (t) => t.function.name === 'record_claim',
      ),
    );
    expect(claimsRequest).toBeDefined();
    writer.close();
    await store.close();
  });
});
