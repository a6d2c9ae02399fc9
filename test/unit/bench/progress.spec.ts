import { Progress } from '../../../bench/lib/progress';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, write: (t: string) => chunks.push(t), isTTY, columns: 80 };
}

describe('bench progress', () => {
  it('prints one line per milestone when stderr is not a terminal', () => {
    const s = sink(false);
    let t = 0;
    const p = new Progress(s, () => t);
    p.start('micro');
    for (let i = 0; i <= 100; i++) p.update('stage', i / 100);
    p.log('a log line');
    t = 1500;
    p.finish(true);
    expect(s.chunks.join('')).toBe(
      '[micro] started\n[micro] 25% stage\n[micro] 50% stage\n[micro] 75% stage\n[micro] a log line\n[micro] done in 1.5 s\n',
    );
  });

  it('prints only the highest milestone an update jumps to', () => {
    const s = sink(false);
    const p = new Progress(s, () => 0);
    p.start('soak');
    p.update('half', 0.6);
    p.update('all', 1);
    expect(s.chunks).toEqual(['[soak] started\n', '[soak] 50% half\n', '[soak] 75% all\n']);
  });

  it('redraws one bar in place on a terminal and keeps log lines off it', () => {
    const s = sink(true);
    let t = 0;
    const p = new Progress(s, () => t);
    p.start('soak');
    t = 100;
    p.update('wave 1', 0.5);
    p.log('hello');
    p.finish(false);
    const out = s.chunks.join('');
    expect(out).toContain('\r\x1b[2K[soak] ████████████░░░░░░░░░░░░  50% wave 1');
    expect(out).toContain('\r\x1b[2K[soak] hello\n');
    expect(out.endsWith('\r\x1b[2K[soak] FAILED in 0.1 s\n')).toBe(true);
    for (const line of out.split(/[\r\n]/)) expect(line.length).toBeLessThan(80 + 5);
  });
});
