/**
 * Splits text into sentences for sentence-level synthesis. A period inside a number ("3.5"), after
 * a common abbreviation ("Dr.") or a single capital ("A. Brown") does not end a sentence.
 */
/** Words after which a period does not end a sentence (shared with the media text chunker). */
export const ABBREVIATIONS: ReadonlySet<string> = new Set([
  'mr',
  'mrs',
  'ms',
  'dr',
  'st',
  'no',
  'vs',
  'etc',
  'inc',
  'ltd',
  'jr',
  'sr',
  'e.g',
  'i.e',
]);

export function splitSentences(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  const s = text.replace(/\s+/g, ' ').trim();
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch !== '.' && ch !== '!' && ch !== '?' && ch !== ';') continue;
    const next = s[i + 1];
    if (next !== undefined && next !== ' ' && next !== '"' && next !== "'") continue; // 3.5, e.g
    if (ch === '.') {
      const word = /([\p{L}.]+)$/u.exec(s.slice(start, i))?.[1]?.toLowerCase() ?? '';
      if (ABBREVIATIONS.has(word) || /^\p{L}$/u.test(word)) continue;
    }
    const sentence = s.slice(start, i + 1).trim();
    if (sentence) out.push(sentence);
    start = i + 1;
  }
  const rest = s.slice(start).trim();
  if (rest) out.push(rest);
  return out;
}

/**
 * Sentences for synthesis, with the first one cut after its first clause ("Hello," / "Sure:") so the
 * caller hears audio sooner while the rest is synthesized. A comma inside a number ("1,250") has no
 * space after it and is never a cut point; a tail shorter than three words is not worth a cut.
 */
export function synthesisUnits(text: string): string[] {
  const sentences = splitSentences(text);
  const m = sentences.length > 0 ? /^(.+?[,:—])\s+(.+)$/u.exec(sentences[0]) : null;
  if (!m || m[2].split(' ').length < 3) return sentences;
  return [m[1], m[2], ...sentences.slice(1)];
}
