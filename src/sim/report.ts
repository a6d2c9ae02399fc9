/**
 * The simulator's report (documented in docs/simulator.md): per caller turn what was said, what the agent
 * answered (from the session API), and the client-side latencies. `buildReport` is a pure function of
 * the caller's measurements and the session, so the benchmark assembles reports the same way.
 */

/** One caller turn as the SimulatedCaller measured it (epoch ms timestamps on the simulator's clock). */
export interface TurnMeasurement {
  index: number;
  /** First frame of the utterance sent. */
  startedAt: number;
  /** Last frame of the utterance sent (undefined while speaking). */
  endedAt?: number;
  /** Frame above the energy threshold: first one sent (onset) and last one sent (end of speech). */
  speechOnsetAt?: number;
  speechEndAt?: number;
  audioMs: number;
  /** End of caller speech → first agent AudioData of the reply. */
  e2eLatencyMs?: number;
  /** Caller speech onset → StopAudio (only when the agent was cut off during this turn). */
  bargeInMs?: number;
  /** A StopAudio arrived during this turn. */
  interrupted: boolean;
  /** The agent was playing audio when the caller's speech began. */
  agentPlayingAtOnset: boolean;
  /** Agent audio received during this turn that was played (StopAudio discards the rest). */
  agentAudioMs: number;
}

export interface GreetingMeasurement {
  /** AudioMetadata sent → first agent AudioData. */
  firstAudioMs?: number;
  agentAudioMs: number;
}

export interface CallerSource {
  source: 'file' | 'text';
  file?: string;
  text?: string;
}

/** The subset of the session API's answer (GET /api/v1/sessions/:id) the report needs. */
export interface SessionView {
  id: string;
  history: Array<{ role: string; text: string; at: string; interrupted?: boolean }>;
  context?: Record<string, unknown>;
}

export interface TurnReport {
  index: number;
  caller: CallerSource & {
    audio_ms: number;
    /** What the service transcribed (the caller history entries of this turn). */
    recognized?: string;
  };
  /** The agent's history entries added after this turn's caller entry, joined with spaces. */
  agent_text: string;
  /** End of caller speech → first agent AudioData; null when the agent did not answer. */
  e2e_latency_ms: number | null;
  bargein_ms?: number;
  agent_audio_ms: number;
  interrupted?: boolean;
}

export interface SimulationReport {
  callConnectionId: string;
  sessionId: string | null;
  sampleRate: number;
  turns: TurnReport[];
  greeting: { first_audio_ms: number | null; agent_text?: string };
  agent_audio_file?: string;
  session: { id: string; history_entries: number; context?: Record<string, unknown> } | null;
  /** Set when the service closed the media socket (e.g. the agent hung up). */
  closed_by_service?: { code: number; reason: string };
}

export interface ReportInput {
  callConnectionId: string;
  sampleRate: number;
  sources: CallerSource[];
  turns: readonly TurnMeasurement[];
  greeting: GreetingMeasurement;
  session?: SessionView;
  agentAudioFile?: string;
  closedByService?: { code: number; reason: string };
}

/**
 * History entries carry the service's clock; turn windows are on the simulator's clock. Entries written
 * up to this long before a turn's first frame still belong to that turn (clock skew, rounding).
 */
export const CLOCK_TOLERANCE_MS = 250;

const round = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms));

/**
 * Splits the history by time. The caller entries written in [turn i start, turn i+1 start) are what the
 * service heard of turn i; the agent entries written in [end of turn i's speech, end of turn i+1's speech)
 * are its answer (a reply cannot begin before the caller stopped talking, and what the agent says after
 * the next caller turn began but before it ended — the rest of a reply, a re-prompt — still answers turn i).
 * Agent entries before the first turn's end of speech are the greeting.
 */
export function buildReport(input: ReportInput): SimulationReport {
  const history = input.session?.history ?? [];
  const turnStarts = input.turns.map((t) => t.startedAt - CLOCK_TOLERANCE_MS);
  const answerStarts = input.turns.map(
    (t) => (t.speechEndAt ?? t.endedAt ?? t.startedAt) - CLOCK_TOLERANCE_MS,
  );
  const slot = (at: number, starts: number[]) => {
    let found = -1;
    for (let i = 0; i < starts.length; i++) if (at >= starts[i]) found = i;
    return found;
  };
  const recognized: string[][] = input.turns.map(() => []);
  const agentTexts: string[][] = input.turns.map(() => []);
  const greetingText: string[] = [];
  for (const entry of history) {
    const at = Date.parse(entry.at);
    if (!Number.isFinite(at)) continue;
    if (entry.role === 'caller') {
      const i = slot(at, turnStarts);
      if (i >= 0) recognized[i].push(entry.text);
    } else if (entry.role === 'agent') {
      const i = slot(at, answerStarts);
      (i < 0 ? greetingText : agentTexts[i]).push(entry.text);
    }
  }

  const turns = input.turns.map((t, i): TurnReport => {
    return {
      index: t.index,
      caller: {
        ...input.sources[i],
        audio_ms: Math.round(t.audioMs),
        ...(input.session ? { recognized: recognized[i].join(' ') } : {}),
      },
      agent_text: agentTexts[i].join(' '),
      e2e_latency_ms: round(t.e2eLatencyMs) ?? null,
      ...(t.bargeInMs !== undefined ? { bargein_ms: Math.round(t.bargeInMs) } : {}),
      agent_audio_ms: Math.round(t.agentAudioMs),
      ...(t.interrupted ? { interrupted: true } : {}),
    };
  });

  return {
    callConnectionId: input.callConnectionId,
    sessionId: input.session?.id ?? null,
    sampleRate: input.sampleRate,
    turns,
    greeting: {
      first_audio_ms: round(input.greeting.firstAudioMs) ?? null,
      ...(input.session ? { agent_text: greetingText.join(' ') } : {}),
    },
    ...(input.agentAudioFile ? { agent_audio_file: input.agentAudioFile } : {}),
    session: input.session
      ? {
          id: input.session.id,
          history_entries: input.session.history.length,
          ...(input.session.context ? { context: input.session.context } : {}),
        }
      : null,
    ...(input.closedByService ? { closed_by_service: input.closedByService } : {}),
  };
}

/** A few human lines for the CLI without --json. */
export function summarize(report: SimulationReport): string {
  const lines = [
    `call ${report.callConnectionId}  session ${report.sessionId ?? '(not found)'}  greeting first audio ${fmt(report.greeting.first_audio_ms)}`,
  ];
  if (report.greeting.agent_text) lines.push(`  agent> ${report.greeting.agent_text}`);
  for (const t of report.turns) {
    const said = t.caller.source === 'text' ? `"${t.caller.text}"` : t.caller.file;
    const heard = t.caller.recognized !== undefined ? ` (heard: "${t.caller.recognized}")` : '';
    lines.push(`turn ${t.index}: caller ${said}${heard}`);
    const barge = t.bargein_ms !== undefined ? `  barge-in ${t.bargein_ms} ms` : '';
    lines.push(`  e2e ${fmt(t.e2e_latency_ms)}${barge}  agent audio ${t.agent_audio_ms} ms`);
    if (t.agent_text) lines.push(`  agent> ${t.agent_text}`);
  }
  if (report.closed_by_service)
    lines.push(
      `the service closed the call (${report.closed_by_service.code} ${report.closed_by_service.reason})`,
    );
  if (report.agent_audio_file) lines.push(`agent audio: ${report.agent_audio_file}`);
  return lines.join('\n');
}

const fmt = (ms: number | null) => (ms === null ? '—' : `${ms} ms`);
