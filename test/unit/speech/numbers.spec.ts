import { digitsToWords, normalizeNumbers, wordsToDigits } from '../../../src/speech/numbers';

describe('wordsToDigits', () => {
  it('turns spoken digits into a digit string', () => {
    expect(wordsToDigits('four five six seven')).toBe('4567');
    expect(wordsToDigits('one two three four five six seven eight nine zero')).toBe('1234567890');
  });

  it('reads "oh" and "zero" as 0', () => {
    expect(wordsToDigits('six oh six oh one')).toBe('60601');
    expect(wordsToDigits('zero zero seven')).toBe('007');
  });

  it('expands "double" and "triple" before a digit', () => {
    expect(wordsToDigits('double five one')).toBe('551');
    expect(wordsToDigits('triple oh')).toBe('000');
  });

  it('ignores case and surrounding punctuation', () => {
    expect(wordsToDigits('Four, five. Six seven!')).toBe('4567');
  });

  it('returns undefined when the text is not only digits, so callers can re-prompt', () => {
    expect(wordsToDigits('four five apples')).toBeUndefined();
    expect(wordsToDigits('double')).toBeUndefined();
    expect(wordsToDigits('')).toBeUndefined();
    expect(wordsToDigits('   ')).toBeUndefined();
  });
});

describe('normalizeNumbers', () => {
  it('replaces a run of spoken digits inside a sentence', () => {
    expect(normalizeNumbers('my zip is six oh six oh one')).toBe('my zip is 60601');
    expect(normalizeNumbers('call four five six seven now')).toBe('call 4567 now');
  });

  it('keeps a lone digit word as a word', () => {
    expect(normalizeNumbers('no one is here')).toBe('no one is here');
    expect(normalizeNumbers('oh I see')).toBe('oh I see');
    expect(normalizeNumbers('one ticket please')).toBe('one ticket please');
  });

  it('normalises several numbers and keeps trailing punctuation', () => {
    expect(normalizeNumbers('room two one four, code double nine.')).toBe('room 214, code 99.');
  });

  it('treats punctuation between digits as a list separator', () => {
    expect(normalizeNumbers('pick one, two or three')).toBe('pick one, two or three');
  });

  it('leaves text without numbers unchanged', () => {
    expect(normalizeNumbers('hello world')).toBe('hello world');
    expect(normalizeNumbers('')).toBe('');
  });
});

describe('digitsToWords', () => {
  it('spells each digit', () => {
    expect(digitsToWords('4567')).toBe('four five six seven');
    expect(digitsToWords('60601')).toBe('six zero six zero one');
  });

  it('skips characters that are not digits', () => {
    expect(digitsToWords('+1 (555) 010')).toBe('one five five five zero one zero');
    expect(digitsToWords('')).toBe('');
  });

  it('round-trips with wordsToDigits', () => {
    for (const digits of ['0', '1234567890', '000111'])
      expect(wordsToDigits(digitsToWords(digits))).toBe(digits);
  });
});
