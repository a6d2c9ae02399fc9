import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The package version, read once from package.json (two levels up from both src/ and dist/). */
export const VERSION: string = (() => {
  try {
    return (
      JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return '0.0.0';
  }
})();
