import { TextChunker } from '../../../src/media/pipeline/text-chunker';

/** Feeds deltas in order and returns every chunk, flush included. */
function chunk(deltas: string[], chunker = new TextChunker()): string[] {
  const out = deltas.flatMap((d) => chunker.push(d));
  return [...out, ...chunker.flush()];
}

describe('TextChunker', () => {
  it('emits the first chunk at the first clause that is long enough', () => {
    const chunker = new TextChunker();
    expect(chunker.push('Sure, ')).toEqual([]); // "Sure," is too short to speak on its own
    expect(chunker.push('I can help with that. I')).toEqual(['Sure, I can help with that.']);
    expect(chunker.push("'ll need your policy number")).toEqual([]);
    expect(chunker.flush()).toEqual(["I'll need your policy number"]);
  });

  it('cuts the first chunk at a comma once it is long enough', () => {
    expect(chunk(['Thanks for calling today, how can I help? Tell me more, please.'])).toEqual([
      'Thanks for calling today,',
      'how can I help?',
      'Tell me more, please.',
    ]);
  });

  it('waits for the whitespace after a mark, so a number split across deltas stays whole', () => {
    const chunker = new TextChunker();
    expect(chunker.push('Your claim is 1,')).toEqual([]);
    expect(chunker.push('200 dollars. Thanks')).toEqual(['Your claim is 1,200 dollars.']);
    expect(chunker.flush()).toEqual(['Thanks']);
  });

  it('never cuts inside amounts, decimals or times', () => {
    expect(
      chunk(['The total is $4,500.00 and the rate is 3.5 percent. Call at 10:30 tomorrow. Bye.']),
    ).toEqual(['The total is $4,500.00 and the rate is 3.5 percent.', 'Call at 10:30 tomorrow.', 'Bye.']);
  });

  it('does not end a sentence after an abbreviation or an initial', () => {
    expect(
      chunk(['Dr. Smith will call you back. Mr. A. Brown, e.g. your agent, agreed. Goodbye now.']),
    ).toEqual(['Dr. Smith will call you back.', 'Mr. A. Brown, e.g. your agent, agreed.', 'Goodbye now.']);
  });

  it('keeps later sentences whole even when they contain commas', () => {
    expect(chunk(['Hello there, caller. Yes, no, maybe, so. Done.'])).toEqual([
      'Hello there,',
      'caller.',
      'Yes, no, maybe, so.',
      'Done.',
    ]);
  });

  it('splits a sentence longer than maxChars at its last clause boundary before the limit', () => {
    const chunker = new TextChunker({ maxChars: 40 });
    const chunks = chunk(
      [
        'Okay, right then, let us go. ',
        'The first part of this sentence is long, the second part is longer, and it keeps going on.',
      ],
      chunker,
    );
    expect(chunks).toEqual([
      'Okay, right then,',
      'let us go.',
      'The first part of this sentence is long,',
      'the second part is longer,',
      'and it keeps going on.',
    ]);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(40);
  });

  it('normalises whitespace and never emits empty chunks', () => {
    expect(chunk(['  Well,\n\n  that   is\tall   for today.   \n', '  ', '\n'])).toEqual([
      'Well, that is all for today.',
    ]);
    expect(chunk(['   '])).toEqual([]);
  });

  it('flush returns the unfinished tail and readies the next reply', () => {
    const chunker = new TextChunker();
    expect(chunker.push('One moment please, I am checking')).toEqual(['One moment please,']);
    expect(chunker.flush()).toEqual(['I am checking']);
    expect(chunker.flush()).toEqual([]);
    // A new reply gets a quick first chunk again.
    expect(chunker.push('All done here, thanks ')).toEqual(['All done here,']);
  });

  it('reset drops pending text', () => {
    const chunker = new TextChunker();
    chunker.push('This reply was interrupted');
    chunker.reset();
    expect(chunker.push('Fresh start here, friend. ')).toEqual(['Fresh start here,', 'friend.']);
  });

  it('gives the same chunks whether text arrives in one delta or one character at a time', () => {
    const texts = [
      'Sure, I can help with that. Your claim number is 1,200-B. Is there anything else?',
      'Your balance is $4,500.00; the payment is due at 10:30 on Monday. Dr. Brown said so!',
      '"Absolutely," she said. "We open at 9." Then: nothing more — really.',
      'No punctuation at all in this reply',
      'Hi. Hello. A long second sentence with, many, commas, that, goes, on and on, and on. End.',
    ];
    for (const text of texts) {
      for (const maxChars of [200, 30]) {
        const whole = chunk([text], new TextChunker({ maxChars }));
        const perChar = chunk([...text], new TextChunker({ maxChars }));
        // Also irregular deltas, as an LLM stream would produce.
        const irregular: string[] = [];
        for (let i = 0, n = 1; i < text.length; i += n, n = (n % 5) + 1) irregular.push(text.slice(i, i + n));
        expect(perChar).toEqual(whole);
        expect(chunk(irregular, new TextChunker({ maxChars }))).toEqual(whole);
        expect(whole.join(' ')).toBe(text.replace(/\s+/g, ' ').trim());
      }
    }
  });
});
