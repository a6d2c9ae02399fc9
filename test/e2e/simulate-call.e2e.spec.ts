import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWav } from '../../src/audio/wav';
import { summarize, type SimulationReport } from '../../src/sim/report';
import { fetchCallSession } from '../../src/sim/session-api';
import { prepareUtterance, SimulatedCaller } from '../../src/sim/simulated-caller';
import { speak } from '../support/audio';
import { CLI, runNode } from '../support/processes';
import { startTestApp, type TestApp } from '../support/test-app';

const PATH = '/api/v1/media/stream';

/** The service's log lines of one call, a line each (message and the fields that tell the story). */
function callLog(t: TestApp, callConnectionId: string): string {
  return t.logs.lines
    .filter((l) => l.callConnectionId === callConnectionId)
    .map((l) => {
      const { msg, time, level, callConnectionId: _c, sessionId: _s, traceId: _t, spanId: _p, ...rest } = l;
      return `${String(time)} ${String(level)} ${String(msg)} ${JSON.stringify(rest)}`;
    })
    .join('\n');
}

describe('voxline simulate-call against the whole app (embedded engines)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'voxline-sim-'));
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MEDIA_IDLE_TIMEOUT_SECONDS: '30' });
  });
  afterAll(() => t.close());

  it('runs the default insurance scenario by voice: authenticates, reports a claim and ends with a claim number in the session', async () => {
    const out = join(dir, 'agent.wav');
    const { code, stdout, stderr } = await runNode([
      CLI,
      'simulate-call',
      '--url',
      `${t.wsUrl}${PATH}`,
      '--call-id',
      'local-sim-e2e-insurance',
      '--json',
      '--out',
      out,
      '--timeout-ms',
      '20000',
      '--text',
      'my name is alice brown',
      '--text',
      'six oh six oh one',
      // Phrased the way the embedded recogniser hears reliably ("claim" comes out as "plane").
      '--text',
      'i had an accident',
      '--text',
      'a tree fell on my car during the storm',
      '--text',
      'yesterday evening',
      '--text',
      'in front of my house in chicago',
    ]);
    expect({ code, errors: stderr.split('\n').filter((l) => l.includes('"level":50')) }).toEqual({
      code: 0,
      errors: [],
    });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]) as SimulationReport;
    const context = report.session?.context ?? {};
    // On failure, say how the call went: what the service heard and what the agent answered.
    if (!context.claimNumber)
      throw new Error(
        `no claim number in the session; the call:\n${summarize(report)}\nthe service's log of it:\n${callLog(t, 'local-sim-e2e-insurance')}`,
      );
    expect({ authenticated: context.authenticated, claimNumber: context.claimNumber }).toEqual({
      authenticated: true,
      claimNumber: expect.stringMatching(/^CLM-\d{6}$/),
    });
    expect(report.callConnectionId).toBe('local-sim-e2e-insurance');
    expect(report.turns.map((turn) => turn.caller.source)).toEqual(Array(6).fill('text'));
    expect(report.greeting.first_audio_ms).toBeGreaterThan(0);
    expect(report.greeting.agent_text).toContain('Contoso Insurance');
    for (const turn of report.turns) {
      expect(turn.e2e_latency_ms).toBeGreaterThan(0);
      expect(turn.agent_audio_ms).toBeGreaterThan(500);
    }
    expect(report.turns[1].agent_text).toMatch(/verified/i);
    expect(report.turns[5].agent_text).toMatch(/claim number/i);
    const wav = readWav(readFileSync(out));
    expect(wav).toMatchObject({ sampleRate: 16000, channels: 1, bitsPerSample: 16 });
    expect(wav.data.length / 32).toBeGreaterThan(
      report.turns.reduce((ms, turn) => ms + turn.agent_audio_ms, 0) * 0.9,
    );
  }, 180_000);

  it('keeps the call going when malformed frames arrive mid-call: the next caller turn is heard and answered', async () => {
    const caller = await SimulatedCaller.connect(`${t.wsUrl}${PATH}`, {
      callConnectionId: 'sim-e2e-malformed',
    });
    try {
      caller.sendMetadata();
      expect((await caller.waitForAgent({ quietMs: 800, timeoutMs: 20_000 })).replied).toBe(true);
      caller.sendRaw('{"kind":');
      caller.sendRaw('{"kind":"Video","video":{}}');
      caller.sendRaw('{"kind":"AudioData","audioData":{"data":"not base64!"}}');
      caller.sendRaw(Buffer.from([1, 2, 3]));
      const turn = await caller.speak(prepareUtterance(await speak('my name is alice brown'), 16000));
      expect(await caller.waitForAgent({ quietMs: 800, timeoutMs: 20_000 })).toEqual({
        replied: true,
        timedOut: false,
        closed: false,
      });
      expect(turn.e2eLatencyMs).toBeGreaterThan(0);
      expect(turn.agentAudioMs).toBeGreaterThan(1000);
      const session = await fetchCallSession(t.baseUrl, 'sim-e2e-malformed');
      const callerAt = session!.history.findIndex((h) => h.role === 'caller');
      expect(session!.history[callerAt].text).toContain('my name is');
      expect(session!.history[callerAt + 1]).toMatchObject({
        role: 'agent',
        text: expect.stringContaining('ZIP code'),
      });
    } finally {
      await caller.close();
    }
  }, 60_000);

  it('fails with a one-line reason and a non-zero exit when the service is not there or a turn file is missing', async () => {
    const refused = await runNode([CLI, 'simulate-call', '--url', 'ws://127.0.0.1:9/api/v1/media/stream']);
    expect([refused.code, refused.stdout]).toEqual([1, '']);
    expect(refused.stderr.trim().split('\n').at(-1)).toBe(
      'voxline: cannot open the media WebSocket ws://127.0.0.1:9/api/v1/media/stream: ECONNREFUSED',
    );
    const missing = await runNode([
      CLI,
      'simulate-call',
      '--url',
      `${t.wsUrl}${PATH}`,
      '--turn',
      join(dir, 'missing.wav'),
    ]);
    expect([missing.code, missing.stdout]).toEqual([1, '']);
    expect(missing.stderr.trim().split('\n').at(-1)).toMatch(/^voxline: cannot read .*missing\.wav: ENOENT$/);
  }, 30_000);
});
