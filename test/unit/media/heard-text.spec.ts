import { heardText, isBackchannel } from '../../../src/media/cascade/heard-text';

const BACKCHANNELS = ['mm-hmm', 'uh-huh', 'yeah', 'okay', 'ok', 'right', 'i see'];

describe('what the caller heard of a cut reply', () => {
  const chunks = [
    { text: 'Thanks, Alice.', offsetMs: 0 },
    { text: 'What is the ZIP code on your policy?', offsetMs: 1000 },
  ];

  it('keeps whole chunks that finished and the heard words of the cut one', () => {
    expect(heardText(chunks, 1000, 3000)).toBe('Thanks, Alice.');
    // Half of the second chunk: its first words, cut at a word boundary.
    expect(heardText(chunks, 2000, 3000)).toBe('Thanks, Alice. What is the ZIP');
  });

  it('is empty when nothing was heard and whole when everything was', () => {
    expect(heardText(chunks, 0, 3000)).toBe('');
    expect(heardText(chunks, 3000, 3000)).toBe('Thanks, Alice. What is the ZIP code on your policy?');
  });
});

describe('backchannels', () => {
  it.each(['mm-hmm', 'Yeah.', 'okay okay', 'yeah, right', 'I see', ''])('%j does not interrupt', (text) => {
    expect(isBackchannel(text, BACKCHANNELS)).toBe(true);
  });

  it.each(['wait', 'yeah but my car', 'no', 'okay so the address changed'])('%j interrupts', (text) => {
    expect(isBackchannel(text, BACKCHANNELS)).toBe(false);
  });
});
