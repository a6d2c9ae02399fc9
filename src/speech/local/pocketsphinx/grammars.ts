import type { ExpectedInput } from '../../ports/speech-to-text.port';

/** Names of the JSGF searches registered in every decoder; `null` means the n-gram language model. */
export type GrammarName = 'digits' | 'yes_no';

const DIGIT = 'zero | oh | one | two | three | four | five | six | seven | eight | nine';

/**
 * JSGF sources, compiled once per decoder at start-up. Every word must exist in cmudict-en-us.dict.
 * A closed vocabulary turns digit strings and confirmations from the weakest case of the n-gram model
 * into near-perfect recognition.
 */
export const GRAMMARS: Readonly<Record<GrammarName, string>> = {
  // "double five" / "triple oh" are common when reading out numbers; numbers.ts expands them.
  digits: [
    '#JSGF V1.0;',
    'grammar digits;',
    `<digit> = ${DIGIT};`,
    'public <digits> = ( <digit> | double <digit> | triple <digit> )+;',
  ].join('\n'),
  yes_no: [
    '#JSGF V1.0;',
    'grammar yes_no;',
    '<yes> = yes | yeah | yep | yup | sure | correct | right | okay | absolutely | definitely',
    "  | that's right | that is right | that's correct | that is correct | yes please;",
    '<no> = no | nope | nah | not really | that is wrong | no thanks;',
    'public <answer> = <yes> | <no>;',
  ].join('\n'),
};

/** The search that recognises an expected input; names and free speech use the language model. */
export function grammarFor(expected: ExpectedInput): GrammarName | null {
  switch (expected) {
    case 'digits':
      return 'digits';
    case 'yes_no':
      return 'yes_no';
    case 'name':
    case 'free':
      return null;
  }
}
