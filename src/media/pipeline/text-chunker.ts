import { ABBREVIATIONS } from '../../speech/local/sentences';

/**
 * Turns streamed LLM text deltas into speakable chunks for TTS. The first chunk of a reply is cut at the
 * first clause that is long enough, so the caller hears audio sooner; later chunks are whole sentences
 * (over-long ones cut at a clause boundary). A mark only counts once the whitespace after it has arrived:
 * "1," may still become "1,200", and "3.5" or "10:30" never have whitespace after the mark.
 */

const SENTENCE_MARKS = '.!?';
const CLAUSE_MARKS = ',;:—';
/** Closing quotes/brackets may sit between the mark and the whitespace: `"Yes." Then…`. */
const CLOSERS = `"'”’)]`;
const WHITESPACE = /\s/u;

export interface TextChunkerOptions {
  /** The first chunk needs at least this many characters (and two words). Default 12. */
  minFirstChars?: number;
  /** A sentence longer than this is cut at its last clause boundary. Default 200. */
  maxChars?: number;
}

export class TextChunker {
  private readonly minFirstChars: number;
  private readonly maxChars: number;
  /** Normalised text not yet emitted: no leading space, single spaces. */
  private pending = '';
  /** End of the last confirmed clause boundary in `pending` (0 = none). */
  private lastClause = 0;
  private first = true;

  constructor(options: TextChunkerOptions = {}) {
    this.minFirstChars = options.minFirstChars ?? 12;
    this.maxChars = options.maxChars ?? 200;
  }

  /** Chunks completed by this delta (often none). */
  push(delta: string): string[] {
    const out: string[] = [];
    // Character by character, so how the reply is split into deltas never changes the chunks.
    for (const ch of delta) {
      if (WHITESPACE.test(ch)) {
        if (this.pending === '' || this.pending.endsWith(' ')) continue;
        this.atBoundaryCandidate(out);
        if (this.pending !== '') this.pending += ' ';
      } else {
        this.pending += ch;
        // Over the limit: cut at the last clause boundary (or the first one after the limit if none before).
        if (!this.first && this.pending.length > this.maxChars && this.lastClause > 0) {
          this.emit(out, this.lastClause);
        }
      }
    }
    return out;
  }

  /** What is left at the end of the reply; also readies the chunker for the next reply. */
  flush(): string[] {
    const rest = this.pending.trim();
    this.reset();
    return rest ? [rest] : [];
  }

  /** Drops any pending text (new reply, or the current one was cancelled). */
  reset(): void {
    this.pending = '';
    this.lastClause = 0;
    this.first = true;
  }

  /** Whitespace just arrived after `pending`: decide whether its last mark ends a chunk. */
  private atBoundaryCandidate(out: string[]): void {
    const s = this.pending;
    let j = s.length - 1;
    while (j >= 0 && CLOSERS.includes(s[j])) j--;
    if (j < 0) return;
    const mark = s[j];
    const sentenceEnd = SENTENCE_MARKS.includes(mark) && !(mark === '.' && isAbbreviation(s.slice(0, j)));
    if (!sentenceEnd && !CLAUSE_MARKS.includes(mark)) return;
    if (this.first) {
      if (s.length >= this.minFirstChars && s.includes(' ')) this.emit(out, s.length);
    } else if (sentenceEnd) {
      this.emit(out, s.length);
    } else {
      this.lastClause = s.length;
    }
  }

  private emit(out: string[], end: number): void {
    const chunk = this.pending.slice(0, end).trim();
    if (chunk) out.push(chunk);
    this.pending = this.pending.slice(end).trimStart();
    this.lastClause = 0;
    this.first = false;
  }
}

/** "Dr", "e.g" or a single initial before a period: not a sentence end. */
function isAbbreviation(before: string): boolean {
  const word = /([\p{L}.]+)$/u.exec(before)?.[1]?.toLowerCase() ?? '';
  return ABBREVIATIONS.has(word) || /^\p{L}$/u.test(word);
}
