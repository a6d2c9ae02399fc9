import { buildReport, summarize, type TurnMeasurement } from '../../../src/sim/report';

const T0 = Date.parse('2026-11-22T10:00:00.000Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const turn = (index: number, startedAt: number, extra: Partial<TurnMeasurement> = {}): TurnMeasurement => ({
  index,
  startedAt: T0 + startedAt,
  audioMs: 1500.4,
  interrupted: false,
  agentPlayingAtOnset: false,
  agentAudioMs: 2000.6,
  e2eLatencyMs: 812.7,
  ...extra,
});

describe('simulation report assembly', () => {
  const session = {
    id: 's-1',
    history: [
      { role: 'agent', text: 'Welcome. Your name?', at: iso(5) },
      { role: 'caller', text: 'alice brown', at: iso(10_100) },
      { role: 'agent', text: 'Thanks, Alice. Your ZIP?', at: iso(12_000) },
      { role: 'caller', text: 'six oh six', at: iso(20_100) },
      { role: 'agent', text: 'Verified.', at: iso(22_000) },
      { role: 'system', text: 'handoff authentication → claims (announced)', at: iso(22_001) },
      { role: 'agent', text: 'This is the claims team.', at: iso(22_002) },
    ],
    context: { authenticated: true, claimNumber: 'CLM-123456' },
  };

  it('gives each turn the agent entries written after its caller entry, and the greeting what came before', () => {
    const report = buildReport({
      callConnectionId: 'c-1',
      sampleRate: 16000,
      sources: [
        { source: 'text', text: 'my name is alice brown' },
        { source: 'file', file: 'zip.wav' },
      ],
      turns: [
        turn(0, 10_000, { speechEndAt: T0 + 11_500 }),
        turn(1, 20_000, { speechEndAt: T0 + 21_500, bargeInMs: 301.2, interrupted: true }),
      ],
      greeting: { firstAudioMs: 3.4, agentAudioMs: 7000 },
      session,
      agentAudioFile: 'agent.wav',
    });
    expect(report).toEqual({
      callConnectionId: 'c-1',
      sessionId: 's-1',
      sampleRate: 16000,
      greeting: { first_audio_ms: 3, agent_text: 'Welcome. Your name?' },
      turns: [
        {
          index: 0,
          caller: {
            source: 'text',
            text: 'my name is alice brown',
            audio_ms: 1500,
            recognized: 'alice brown',
          },
          agent_text: 'Thanks, Alice. Your ZIP?',
          e2e_latency_ms: 813,
          agent_audio_ms: 2001,
        },
        {
          index: 1,
          caller: { source: 'file', file: 'zip.wav', audio_ms: 1500, recognized: 'six oh six' },
          agent_text: 'Verified. This is the claims team.',
          e2e_latency_ms: 813,
          bargein_ms: 301,
          agent_audio_ms: 2001,
          interrupted: true,
        },
      ],
      agent_audio_file: 'agent.wav',
      session: { id: 's-1', history_entries: 7, context: { authenticated: true, claimNumber: 'CLM-123456' } },
    });
  });

  it('gives a turn the service did not hear no answer: what the agent said meanwhile still answers the turn before', () => {
    const report = buildReport({
      callConnectionId: 'c-1',
      sampleRate: 16000,
      sources: [
        { source: 'text', text: 'a' },
        { source: 'text', text: 'b' },
      ],
      turns: [turn(0, 10_000, { speechEndAt: T0 + 10_500 }), turn(1, 12_000, { speechEndAt: T0 + 13_500 })],
      greeting: { agentAudioMs: 0 },
      session: {
        id: 's',
        history: [
          { role: 'caller', text: 'a', at: iso(10_100) },
          { role: 'agent', text: 'Your ZIP?', at: iso(10_900) },
          { role: 'agent', text: 'Are you still there?', at: iso(12_500) },
        ],
      },
    });
    expect(report.turns.map((t) => [t.caller.recognized, t.agent_text])).toEqual([
      ['a', 'Your ZIP? Are you still there?'],
      ['', ''],
    ]);
  });

  it('reports a turn without a reply as null latency, and no session as null', () => {
    const report = buildReport({
      callConnectionId: 'c-2',
      sampleRate: 24000,
      sources: [{ source: 'file', file: 'x.raw' }],
      turns: [turn(0, 0, { e2eLatencyMs: undefined, agentAudioMs: 0 })],
      greeting: { agentAudioMs: 0 },
      closedByService: { code: 1000, reason: 'call disconnected' },
    });
    expect(report).toMatchObject({
      sessionId: null,
      session: null,
      greeting: { first_audio_ms: null },
      turns: [{ e2e_latency_ms: null, agent_text: '', agent_audio_ms: 0 }],
      closed_by_service: { code: 1000, reason: 'call disconnected' },
    });
    expect(report.turns[0].caller).not.toHaveProperty('recognized');
    expect(summarize(report)).toContain('the service closed the call (1000 call disconnected)');
  });
});
