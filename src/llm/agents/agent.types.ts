import type { ExpectedInput } from '../../speech/ports';

export type SlotType = 'name' | 'digits' | 'date' | 'yes_no' | 'text';

/** One piece of information the embedded model collects, in order. */
export interface SlotSpec {
  name: string;
  type: SlotType;
  /** What the agent says to ask for it (template). */
  prompt: string;
  /** Said when the answer does not parse (template); defaults to the prompt. */
  reprompt?: string;
  /** digits only: accepted lengths, e.g. [4, 5]. */
  lengths?: number[];
}

/** A caller intent recognised by example phrases or regular expressions. */
export interface IntentSpec {
  name: string;
  examples: string[];
  patterns: string[];
  /** Context keys that must be truthy for the intent to apply (e.g. `authenticated`). */
  requires: string[];
  /** Say this (template) … */
  reply?: string;
  /** … and/or call this tool with these arguments (templates). */
  tool?: string;
  args?: Record<string, string>;
}

/** What to do after a tool returns: the first rule whose `when` matches the result wins. */
export interface AfterToolRule {
  when?: Record<string, string | number | boolean>;
  reply?: string;
  tool?: string;
  args?: Record<string, string>;
  /** Clear these slots (e.g. to ask again after a failed verification). */
  reset?: string[];
}

export interface LocalSpec {
  slots: SlotSpec[];
  intents: IntentSpec[];
  /** When every slot is filled: call this tool (templates for args) or say this. */
  complete?: { tool?: string; args?: Record<string, string>; reply?: string };
  afterTool: Record<string, AfterToolRule[]>;
  /** Reply when nothing matches and no slot is pending. */
  fallback: string;
  /** Route every caller turn through this tool (question answering), unless an intent matches. */
  passThroughTool?: { tool: string; arg: string };
}

export interface AgentSpec {
  name: string;
  description: string;
  greeting: string;
  returnGreeting: string;
  voice: { alias: string; style?: string; rate?: number };
  model: { temperature?: number; maxTokens?: number; topP?: number };
  /** System prompt template: {{caller}}, {{context}}, {{time}}, {{agent}}, {{context.key}}. */
  prompt: string;
  tools: string[];
  local: LocalSpec;
  /** The file it came from (for errors and the admin API). */
  source: string;
}

export type HandoffType = 'announced' | 'discrete';

export interface HandoffSpec {
  from: string;
  to: string;
  /** Name of the tool the `from` agent calls to hand over. */
  tool: string;
  type: HandoffType;
  shareContext: boolean;
  description?: string;
}

export interface ScenarioSpec {
  name: string;
  description: string;
  startAgent: string;
  agents: string[];
  handoffs: HandoffSpec[];
  source: string;
}

export const SLOT_TYPES: readonly SlotType[] = ['name', 'digits', 'date', 'yes_no', 'text'];

/** Which STT grammar / hint a slot type calls for. */
export function expectedInputFor(type: SlotType | undefined): ExpectedInput {
  switch (type) {
    case 'digits':
      return 'digits';
    case 'yes_no':
      return 'yes_no';
    case 'name':
      return 'name';
    default:
      return 'free';
  }
}
