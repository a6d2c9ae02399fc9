import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICE_NODE_FLAGS } from '../../../bench/scenarios/capacity';

const ROOT = join(__dirname, '..', '..', '..');

describe('the V8 flags the service ships with', () => {
  it('are the same in npm start, the Docker image and the benchmarks', () => {
    const start = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }
    ).scripts.start;
    const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1];
    const image = JSON.parse(cmd ?? '[]') as string[];
    const flagsOf = (argv: string[]) => argv.filter((a) => a.startsWith('--'));
    expect(flagsOf(start.split(/\s+/))).toEqual(SERVICE_NODE_FLAGS);
    expect(flagsOf(image)).toEqual(SERVICE_NODE_FLAGS);
  });
});
