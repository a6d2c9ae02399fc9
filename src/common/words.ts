/** Words of spoken text, as barge-in bookkeeping counts them (split on whitespace). */
export function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

/**
 * Distributes `heardWords` over consecutive messages, in order: messages heard in full keep their text,
 * the one that was cut keeps its heard words (`cut: true`), later ones keep nothing. `left` is the heard
 * words beyond all the messages.
 */
export function splitHeard(
  texts: readonly string[],
  heardWords: number,
): { parts: Array<{ text: string; cut: boolean }>; left: number } {
  let left = heardWords;
  const parts = texts.map((text) => {
    const w = words(text);
    if (left >= w.length) {
      left -= w.length;
      return { text, cut: false };
    }
    const kept = w.slice(0, left).join(' ');
    left = 0;
    return { text: kept, cut: true };
  });
  return { parts, left };
}
