import { ToolRegistry, type ToolContext, type ToolDefinition } from '../../../src/llm/tools/tool-registry';

const ctx = (): ToolContext => ({
  sessionId: 's',
  agent: 'a',
  context: {},
  setContext: () => undefined,
  requestCallAction: async () => undefined,
  signal: new AbortController().signal,
});

const echo: ToolDefinition = {
  name: 'echo',
  description: 'echo',
  parameters: {
    type: 'object',
    properties: { n: { type: 'integer' }, mode: { type: 'string', enum: ['a', 'b'] } },
    required: ['n'],
    additionalProperties: false,
  },
  execute: async (args) => ({ got: args.n }),
};

describe('ToolRegistry', () => {
  const registry = new ToolRegistry().register(
    echo,
    { ...echo, name: 'slow', timeoutMs: 30, execute: () => new Promise((r) => setTimeout(r, 1000)) },
    { ...echo, name: 'boom', execute: async () => Promise.reject(new Error('database down')) },
  );

  it('runs a tool with valid arguments', async () => {
    expect(await registry.execute('echo', '{"n": 3}', ctx())).toEqual({ ok: true, result: { got: 3 } });
  });

  it('reports malformed arguments back without running the tool', async () => {
    const run = jest.fn();
    const r = new ToolRegistry().register({ ...echo, execute: run });
    expect(await r.execute('echo', '{"n": 3', ctx())).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^malformed arguments \(not JSON\)/),
    });
    expect(await r.execute('echo', '{"n": "three", "mode": "c", "x": 1}', ctx())).toEqual({
      ok: false,
      error: 'invalid arguments: n must be an integer; mode must be one of a, b; x is not a known argument',
    });
    expect(await r.execute('echo', '{}', ctx())).toEqual({
      ok: false,
      error: 'invalid arguments: n is required',
    });
    expect(run).not.toHaveBeenCalled();
  });

  it('turns a timeout or a thrown error into an error result the model can recover from', async () => {
    expect(await registry.execute('slow', '{"n":1}', ctx())).toEqual({
      ok: false,
      error: 'tool slow timed out after 30 ms',
    });
    expect(await registry.execute('boom', '{"n":1}', ctx())).toEqual({ ok: false, error: 'database down' });
    expect(await registry.execute('nope', '{}', ctx())).toEqual({ ok: false, error: 'unknown tool "nope"' });
  });

  it('refuses to register a tool twice', () => {
    expect(() => new ToolRegistry().register(echo, echo)).toThrow(/registered twice/);
  });
});
