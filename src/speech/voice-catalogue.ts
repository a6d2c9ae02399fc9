import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import type { VoiceSpec } from './ports';

export type VoiceEngine = 'local' | 'azure';

interface AliasEntry {
  description?: string;
  language: string;
  local: VoiceSpec;
  azure: VoiceSpec;
}

export interface VoiceAlias extends AliasEntry {
  alias: string;
}

/**
 * Voice aliases (e.g. `support_contact_center`) → the engine voice, style and rate to use, plus a
 * default alias per language. Loaded once at boot; errors name the file and the field.
 */
export class VoiceCatalogue {
  private constructor(
    private readonly aliases: Map<string, AliasEntry>,
    private readonly defaults: Map<string, string>,
  ) {}

  static fromFile(path: string): VoiceCatalogue {
    let doc: unknown;
    try {
      doc = load(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new Error(`voice catalogue ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return VoiceCatalogue.fromObject(doc, path);
  }

  static fromObject(doc: unknown, source = 'voice catalogue'): VoiceCatalogue {
    const fail = (field: string, problem: string): never => {
      throw new Error(`${source}: ${field} ${problem}`);
    };
    if (!isRecord(doc)) return fail('(root)', 'must be a mapping with `aliases` and `defaults`');
    if (!isRecord(doc.aliases)) return fail('aliases', 'must be a mapping of alias → voices');
    const aliases = new Map<string, AliasEntry>();
    for (const [alias, raw] of Object.entries(doc.aliases)) {
      if (!isRecord(raw)) return fail(`aliases.${alias}`, 'must be a mapping');
      const language =
        typeof raw.language === 'string'
          ? raw.language
          : fail(`aliases.${alias}.language`, 'must be a string such as en-US');
      const voice = (engine: VoiceEngine): VoiceSpec => {
        const v = raw[engine];
        if (!isRecord(v) || typeof v.name !== 'string' || !v.name)
          return fail(`aliases.${alias}.${engine}.name`, 'must be a voice name');
        if (v.rate !== undefined && (typeof v.rate !== 'number' || v.rate < 0.5 || v.rate > 2)) {
          return fail(`aliases.${alias}.${engine}.rate`, 'must be a number between 0.5 and 2');
        }
        if (v.style !== undefined && typeof v.style !== 'string')
          return fail(`aliases.${alias}.${engine}.style`, 'must be a string');
        return {
          name: v.name,
          language,
          ...(v.style ? { style: v.style as string } : {}),
          ...(v.rate !== undefined ? { rate: v.rate as number } : {}),
        };
      };
      aliases.set(alias, {
        language,
        local: voice('local'),
        azure: voice('azure'),
        ...(typeof raw.description === 'string' ? { description: raw.description } : {}),
      });
    }
    const defaults = new Map<string, string>();
    if (doc.defaults !== undefined) {
      if (!isRecord(doc.defaults)) return fail('defaults', 'must be a mapping of language → alias');
      for (const [lang, alias] of Object.entries(doc.defaults)) {
        if (typeof alias !== 'string' || !aliases.has(alias))
          return fail(`defaults.${lang}`, `names an unknown alias "${String(alias)}"`);
        defaults.set(lang, alias);
      }
    }
    return new VoiceCatalogue(aliases, defaults);
  }

  list(): VoiceAlias[] {
    return [...this.aliases].map(([alias, e]) => ({ alias, ...e }));
  }

  /**
   * The engine voice for an alias; an unknown name is taken as an engine voice name as-is; no name
   * means the language's default alias.
   */
  resolve(engine: VoiceEngine, nameOrAlias?: string, language = 'en-US'): VoiceSpec {
    const alias = nameOrAlias ?? this.defaults.get(language) ?? this.defaults.values().next().value;
    const entry = alias ? this.aliases.get(alias) : undefined;
    if (entry) return { ...entry[engine] };
    if (nameOrAlias) return { name: nameOrAlias, language };
    throw new Error(`no voice configured for language ${language}`);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
