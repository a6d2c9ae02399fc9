import { splitSentences, synthesisUnits } from '../../../src/speech/local/sentences';

describe('sentence splitting for synthesis', () => {
  it('splits at sentence ends but not inside numbers, abbreviations or initials', () => {
    expect(
      splitSentences('Your deductible is $1,250.50 per claim. Dr. Smith and A. Brown agree! Anything else?'),
    ).toEqual(['Your deductible is $1,250.50 per claim.', 'Dr. Smith and A. Brown agree!', 'Anything else?']);
  });

  it('keeps text without a final punctuation mark as the last sentence', () => {
    expect(splitSentences('Sure. Let me check that for you')).toEqual(['Sure.', 'Let me check that for you']);
  });

  it('cuts the first sentence after its first clause so audio starts sooner', () => {
    expect(synthesisUnits('Hello, thanks for calling Contoso Insurance. How can I help?')).toEqual([
      'Hello,',
      'thanks for calling Contoso Insurance.',
      'How can I help?',
    ]);
  });

  it('does not cut inside a number or leave a tail shorter than three words', () => {
    expect(synthesisUnits('You owe 1,250 dollars today.')).toEqual(['You owe 1,250 dollars today.']);
    expect(synthesisUnits('Thanks, Alice.')).toEqual(['Thanks, Alice.']);
  });
});
