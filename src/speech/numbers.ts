/**
 * Spoken digits ↔ digit strings, for slots such as phone numbers, zip codes and PINs: recognisers
 * return words ("six oh six oh one"), business logic wants "60601", and speech synthesis reads
 * numbers best digit by digit.
 */

/** Spoken digit words (also ACS's DTMF tone names for 0–9). */
export const DIGIT_WORDS: Readonly<Record<string, string>> = {
  zero: '0',
  oh: '0',
  o: '0',
  one: '1',
  two: '2',
  three: '3',
  four: '4',
  five: '5',
  six: '6',
  seven: '7',
  eight: '8',
  nine: '9',
};

const REPEATS: Readonly<Record<string, number>> = { double: 2, triple: 3 };

const WORDS_BY_DIGIT = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/** Lower-cased token without surrounding punctuation ("Five," → "five"). */
function bare(token: string): string {
  return token.toLowerCase().replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
}

/**
 * Digits spelled by a run of tokens starting at `from`, or undefined when no digit starts there.
 * Returns how many tokens were consumed, so "double five" counts as two tokens.
 */
function readDigit(tokens: readonly string[], from: number): { digits: string; used: number } | undefined {
  if (from >= tokens.length) return undefined;
  const word = bare(tokens[from]);
  const digit = DIGIT_WORDS[word];
  if (digit !== undefined) return { digits: digit, used: 1 };
  const times = REPEATS[word];
  const next = from + 1 < tokens.length ? DIGIT_WORDS[bare(tokens[from + 1])] : undefined;
  if (times !== undefined && next !== undefined) return { digits: next.repeat(times), used: 2 };
  return undefined;
}

/**
 * "four five six seven" → "4567" ("oh"/"zero" → 0, "double five" → "55"). Returns undefined when the
 * text holds anything but digit words, so a slot filler can tell "not a number" from an empty answer.
 */
export function wordsToDigits(text: string): string | undefined {
  const tokens = text.split(/\s+/).filter((t) => bare(t) !== '');
  if (tokens.length === 0) return undefined;
  let out = '';
  for (let i = 0; i < tokens.length;) {
    const read = readDigit(tokens, i);
    if (read === undefined) return undefined;
    out += read.digits;
    i += read.used;
  }
  return out;
}

/**
 * Replaces runs of two or more spoken digits inside a sentence with digits: "my zip is six oh six oh
 * one" → "my zip is 60601". A lone digit word stays a word ("no one", "oh I see", "one ticket"), since
 * only a run is reliably a number being read out.
 */
export function normalizeNumbers(text: string): string {
  const tokens = text.split(/\s+/).filter((t) => t !== '');
  const out: string[] = [];
  for (let i = 0; i < tokens.length;) {
    let digits = '';
    let count = 0;
    let j = i;
    for (let read = readDigit(tokens, j); read !== undefined; read = readDigit(tokens, j)) {
      digits += read.digits;
      count += read.used;
      j += read.used;
      // Punctuation after a token ends the number ("five, six" is a list, not 56).
      if (/[^a-z0-9]$/i.test(tokens[j - 1])) break;
    }
    if (count >= 2) {
      const trailing = /[^a-z0-9]*$/i.exec(tokens[j - 1])?.[0] ?? '';
      out.push(digits + trailing);
      i = j;
    } else {
      out.push(tokens[i]);
      i += 1;
    }
  }
  return out.join(' ');
}

/** "4567" → "four five six seven"; characters other than digits are skipped ("+1 (555)" → "one five five five"). */
export function digitsToWords(digits: string): string {
  const words: string[] = [];
  for (const ch of digits) {
    const d = ch.charCodeAt(0) - 48;
    if (d >= 0 && d <= 9) words.push(WORDS_BY_DIGIT[d]);
  }
  return words.join(' ');
}
