/** Per-turn metric names (architecture.md): the same names in logs, spans, the admin API and benchmarks. */
export const TURN_METRIC_NAMES = [
  'eou_delay_ms',
  'stt_final_ms',
  'llm_ttft_ms',
  'tts_ttfb_ms',
  'e2e_latency_ms',
  'bargein_ms',
  'overhead_ms',
  'greeting_ttfb_ms',
] as const;
export type TurnMetricName = (typeof TURN_METRIC_NAMES)[number];

export type Role = 'caller' | 'agent' | 'system' | 'tool';

export interface ToolCallRecord {
  name: string;
  arguments: unknown;
  result?: unknown;
  error?: string;
}

export interface HistoryEntry {
  role: Role;
  text: string;
  /** ISO-8601 time the utterance started (caller) or was produced (agent). */
  at: string;
  agent?: string;
  /** The agent was cut off by the caller; `text` holds only what the caller heard. */
  interrupted?: boolean;
  turn?: number;
  toolCalls?: ToolCallRecord[];
}

export type TurnMetrics = { turn: number; at: string } & Partial<Record<TurnMetricName, number>>;

export type SessionState = 'active' | 'ended';

export interface SessionRecord {
  id: string;
  createdAt: string;
  updatedAt: string;
  state: SessionState;
  callConnectionId?: string;
  scenario?: string;
  agent?: string;
  endedAt?: string;
}

export type SessionPatch = Partial<
  Pick<SessionRecord, 'state' | 'callConnectionId' | 'scenario' | 'agent' | 'endedAt'>
>;

export type ContextValue =
  string | number | boolean | null | ContextValue[] | { [key: string]: ContextValue };

export interface SessionDetail extends SessionRecord {
  history: HistoryEntry[];
  context: Record<string, ContextValue>;
  turns: TurnMetrics[];
}

/** What call control stores about a call so that any replica can serve its media and webhooks. */
export interface CallSettings {
  direction?: 'inbound' | 'outbound' | 'local';
  scenario?: string;
  streamingMode?: string;
  record?: boolean;
  [key: string]: ContextValue | undefined;
}

export interface CallMapping {
  callConnectionId: string;
  sessionId: string;
  settings: CallSettings;
}

export interface NewSession {
  id?: string;
  callConnectionId?: string;
  scenario?: string;
  agent?: string;
}

export interface StoreHealth {
  driver: 'redis' | 'memory';
  connected: boolean;
  /** Epoch ms since which the store has been unreachable (undefined while connected). */
  downSince?: number;
  lastError?: string;
}
