/** A chunk of agent text and where its audio starts in the reply (ms). */
export interface SpokenChunk {
  text: string;
  offsetMs: number;
}

/**
 * The words of a reply the caller actually heard, given the chunks' audio offsets and how much audio
 * was heard: whole chunks that finished, plus the heard share of the chunk that was cut (by characters,
 * rounded down to a word boundary). `totalMs` is the reply's audio length so far (bounds the last chunk).
 */
export function heardText(chunks: readonly SpokenChunk[], heardMs: number, totalMs: number): string {
  const parts: string[] = [];
  for (let i = 0; i < chunks.length; i++) {
    const { text, offsetMs } = chunks[i];
    if (heardMs <= offsetMs) break;
    const endMs = i + 1 < chunks.length ? chunks[i + 1].offsetMs : totalMs;
    if (heardMs >= endMs) {
      parts.push(text);
      continue;
    }
    const share = (heardMs - offsetMs) / Math.max(1, endMs - offsetMs);
    const cut = text.slice(0, Math.floor(text.length * share));
    const lastSpace = cut.lastIndexOf(' ');
    const words = lastSpace > 0 ? cut.slice(0, lastSpace) : '';
    if (words) parts.push(words);
    break;
  }
  return parts.join(' ').trim();
}

/** True when everything said is a backchannel ("mm-hmm", "yeah okay"): not an interruption. */
export function isBackchannel(text: string, phrases: readonly string[]): boolean {
  const normalized = text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s'-]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (!normalized) return true;
  let rest = normalized;
  // Greedy: strip known phrases (longest first) until nothing or something else is left.
  const sorted = [...phrases].sort((a, b) => b.length - a.length);
  for (let guard = 0; rest && guard < 20; guard++) {
    const hit = sorted.find((p) => rest === p || rest.startsWith(`${p} `));
    if (!hit) return false;
    rest = rest.slice(hit.length).trim();
  }
  return rest === '';
}
