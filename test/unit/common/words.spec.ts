import { splitHeard, words } from '../../../src/common/words';

describe('splitHeard (what the caller heard of a reply, message by message)', () => {
  const texts = ['Thanks, Alice.', 'Please tell me your ZIP code.'];

  it('keeps messages heard in full, cuts the one playing, empties the rest', () => {
    expect(splitHeard([...texts, 'Or the last four digits.'], 4)).toEqual({
      parts: [
        { text: 'Thanks, Alice.', cut: false },
        { text: 'Please tell', cut: true },
        { text: '', cut: true },
      ],
      left: 0,
    });
  });

  it('reports heard words beyond all the messages', () => {
    expect(splitHeard(texts, 10)).toEqual({
      parts: texts.map((text) => ({ text, cut: false })),
      left: 10 - words(texts.join(' ')).length,
    });
  });
});
