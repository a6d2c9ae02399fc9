import { normalizeNumbers } from '../../speech/numbers';
import type { SlotSpec } from '../agents/agent.types';

const FILLERS = new Set([
  'uh',
  'um',
  'er',
  'erm',
  'ah',
  'well',
  'so',
  'yes',
  'yeah',
  'okay',
  'ok',
  'sure',
  'hi',
  'hello',
]);
const NAME_LEAD = /\b(?:my name is|my name's|name is|this is|i am|i'm|it's|it is|call me)\s+(.+)$/i;
const NOT_NAME = new Set([
  'calling',
  'looking',
  'here',
  'trying',
  'not',
  'a',
  'the',
  'sorry',
  'fine',
  'good',
  'in',
  'at',
  'about',
  'going',
  'wondering',
  'interested',
]);

const titleCase = (s: string) => s.replace(/\b\p{L}/gu, (c) => c.toUpperCase());
const words = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^\p{L}\p{N}' ]+/gu, ' ')
    .split(/\s+/)
    .filter(Boolean);

/** "my name is alice brown" / "alice brown" / "it's Alice Brown, thanks" → "Alice Brown". */
export function parseName(text: string): string | undefined {
  const lead = NAME_LEAD.exec(text);
  let candidate = words(lead ? lead[1] : text).filter((w) => !FILLERS.has(w));
  if (!lead && candidate.length > 4) return undefined;
  // Stop at the first word that clearly is not part of a name ("alice brown and my zip is …").
  const stop = candidate.findIndex((w) =>
    ['and', 'my', 'zip', 'the', 'from', 'with', 'but', 'thanks', 'thank', 'please'].includes(w),
  );
  if (stop >= 0) candidate = candidate.slice(0, stop);
  candidate = candidate.filter((w) => !/\d/.test(w));
  if (candidate.length === 0 || candidate.length > 4 || NOT_NAME.has(candidate[0])) return undefined;
  return titleCase(candidate.join(' '));
}

/** The digit string in the text ("six oh six oh one", "60601", "6 0 6 0 1"), optionally of given lengths. */
export function parseDigits(text: string, lengths?: number[]): string | undefined {
  const normalized = normalizeNumbers(text.toLowerCase()).replace(/(\d)[\s-]+(?=\d)/g, '$1');
  const runs = normalized.match(/\d+/g) ?? [];
  const ok = (d: string) => !lengths || lengths.includes(d.length);
  return runs.find(ok);
}

const YES = /\b(yes|yeah|yep|yup|correct|right|sure|absolutely|affirmative|that's right|it is)\b/i;
const NO = /\b(no|nope|nah|not|incorrect|wrong|negative)\b/i;

export function parseYesNo(text: string): 'yes' | 'no' | undefined {
  if (NO.test(text)) return 'no';
  if (YES.test(text)) return 'yes';
  return undefined;
}

const DATE =
  /\b(today|yesterday|tonight|last night|this morning|this afternoon|this evening|last week|(?:last|on|this)\s+(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|monday|tuesday|wednesday|thursday|friday|saturday|sunday|\d+\s+(?:days?|weeks?|hours?)\s+ago|(?:january|february|march|april|may|june|july|august|september|october|november|december)(?:\s+\w+)?|\d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?)\b(?:\s+(?:morning|afternoon|evening|night))?/i;

/** A date or relative time phrase ("yesterday evening", "last Tuesday", "March third"); else the text. */
export function parseDate(text: string): string | undefined {
  const m = DATE.exec(text);
  if (m) return m[0].toLowerCase();
  const t = text.trim();
  return t.length > 0 ? t : undefined;
}

export function parseSlot(slot: SlotSpec, text: string): string | undefined {
  switch (slot.type) {
    case 'name':
      return parseName(text);
    case 'digits':
      return parseDigits(text, slot.lengths);
    case 'yes_no':
      return parseYesNo(text);
    case 'date':
      return parseDate(text);
    case 'text': {
      const t = text.trim();
      return t.length > 0 ? t : undefined;
    }
  }
}

/** Whether the text matches an example phrase: every word of the example appears, in order. */
export function matchesExample(text: string, example: string): boolean {
  const have = words(text);
  const want = words(example);
  if (want.length === 0) return false;
  let i = 0;
  for (const w of have) if (w === want[i] && ++i === want.length) return true;
  return false;
}
