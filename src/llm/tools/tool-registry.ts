import { DomainError, withTimeout } from '../../common/errors';
import type { ContextValue } from '../../session/session.types';
import type { CallAction } from '../call-control.port';
import type { ToolSpec } from '../ports';

export interface ToolContext {
  sessionId: string;
  agent: string;
  /** The conversation's shared context (read). */
  context: Readonly<Record<string, ContextValue>>;
  /** Adds to the shared context (persisted with the session). */
  setContext(values: Record<string, ContextValue>): void;
  /** Asks the call to transfer or hang up (through the CallControl port). */
  requestCallAction(action: CallAction): Promise<void>;
  signal: AbortSignal;
}

export interface ToolDefinition {
  name: string;
  description: string;
  /** JSON schema of the arguments (type object). */
  parameters: {
    type: 'object';
    properties: Record<string, JsonSchema>;
    required?: string[];
    additionalProperties?: boolean;
  };
  timeoutMs?: number;
  execute(args: Record<string, unknown>, ctx: ToolContext): Promise<unknown>;
}

export interface JsonSchema {
  type: 'string' | 'number' | 'integer' | 'boolean';
  description?: string;
  enum?: readonly (string | number)[];
  pattern?: string;
}

export type ToolOutcome = { ok: true; result: unknown } | { ok: false; error: string };

const DEFAULT_TIMEOUT_MS = 5000;

/** Tools agents may call: defined once with a JSON schema, executed with validation and a timeout. */
export class ToolRegistry {
  private readonly tools = new Map<string, ToolDefinition>();

  register(...defs: ToolDefinition[]): this {
    for (const def of defs) {
      if (this.tools.has(def.name)) throw new Error(`tool "${def.name}" registered twice`);
      this.tools.set(def.name, def);
    }
    return this;
  }

  has(name: string): boolean {
    return this.tools.has(name);
  }

  names(): Set<string> {
    return new Set(this.tools.keys());
  }

  get(name: string): ToolDefinition | undefined {
    return this.tools.get(name);
  }

  spec(name: string): ToolSpec {
    const def = this.tools.get(name);
    if (!def) throw new DomainError('NOT_FOUND', `unknown tool ${name}`);
    return { name: def.name, description: def.description, parameters: def.parameters };
  }

  /**
   * Runs a tool the model asked for. Malformed or invalid arguments are reported back (the tool does
   * not run); a tool that throws or times out becomes an error the model can recover from. Never throws.
   */
  async execute(name: string, rawArguments: string, ctx: ToolContext): Promise<ToolOutcome> {
    const def = this.tools.get(name);
    if (!def) return { ok: false, error: `unknown tool "${name}"` };
    let args: unknown;
    try {
      args = rawArguments.trim() === '' ? {} : JSON.parse(rawArguments);
    } catch (err) {
      return {
        ok: false,
        error: `malformed arguments (not JSON): ${err instanceof Error ? err.message : String(err)}`,
      };
    }
    const problems = validate(def.parameters, args);
    if (problems.length > 0) return { ok: false, error: `invalid arguments: ${problems.join('; ')}` };
    try {
      const timeoutMs = def.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const result = await withTimeout(
        (signal) => {
          const both = AbortSignal.any([signal, ctx.signal]);
          return def.execute(args as Record<string, unknown>, { ...ctx, signal: both });
        },
        timeoutMs,
        `tool ${name}`,
      );
      return { ok: true, result: result ?? null };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }
}

function validate(schema: ToolDefinition['parameters'], value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return ['arguments must be a JSON object'];
  const obj = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of schema.required ?? [])
    if (obj[key] === undefined || obj[key] === null) problems.push(`${key} is required`);
  for (const [key, v] of Object.entries(obj)) {
    const prop = schema.properties[key];
    if (!prop) {
      if (schema.additionalProperties === false) problems.push(`${key} is not a known argument`);
      continue;
    }
    if (v === undefined || v === null) continue;
    const typeOk =
      prop.type === 'integer'
        ? Number.isInteger(v)
        : prop.type === 'number'
          ? typeof v === 'number' && Number.isFinite(v)
          : typeof v === prop.type;
    if (!typeOk) {
      problems.push(`${key} must be ${prop.type === 'integer' ? 'an integer' : `a ${prop.type}`}`);
      continue;
    }
    if (prop.enum && !prop.enum.includes(v as string | number))
      problems.push(`${key} must be one of ${prop.enum.join(', ')}`);
    if (prop.pattern && typeof v === 'string' && !new RegExp(prop.pattern).test(v))
      problems.push(`${key} must match ${prop.pattern}`);
  }
  return problems;
}
