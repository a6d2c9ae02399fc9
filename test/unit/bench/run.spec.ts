import { parseCli, REQUIRED_SHAPE, SCENARIOS, shapeProblems } from '../../../bench/run';
import { fullReport } from './fixture';

describe('bench runner', () => {
  it('parses flags; --only keeps the run order whatever order it is given in', () => {
    const cli = parseCli(['--quick', '--only', 'soak,micro', '--out', '/tmp/x', '--json']);
    expect(cli).toMatchObject({ quick: true, only: ['micro', 'soak'], out: '/tmp/x', json: true });
    expect(parseCli([])).toMatchObject({ quick: false, only: undefined, json: false });
    expect(parseCli([]).out).toMatch(/bench\/results$/);
  });

  it('rejects unknown scenarios and flags', () => {
    expect(() => parseCli(['--only', 'micro,nope'])).toThrow(/nope/);
    expect(() => parseCli(['--only', ''])).toThrow(/--only/);
    expect(() => parseCli(['--fast'])).toThrow();
  });

  it('accepts a complete report and names what is missing or not finite in an incomplete one', () => {
    const { scenarios } = fullReport();
    for (const name of SCENARIOS)
      expect(shapeProblems(scenarios[name], REQUIRED_SHAPE[name], name)).toEqual([]);

    const broken = fullReport().scenarios;
    broken.capacity.silero.steps[1].overhead_ms.p99 = NaN;
    broken.capacity.webrtc.steps = [];
    expect(shapeProblems(broken.capacity, REQUIRED_SHAPE.capacity, 'capacity')).toEqual([
      'capacity.silero.steps[1].overhead_ms.p99 is NaN, not a finite number',
      'capacity.webrtc.steps is not a non-empty array',
    ]);
    expect(shapeProblems({ calls: 1 }, REQUIRED_SHAPE.soak, 'soak')).toContain('soak.rss_mb is missing');
    expect(shapeProblems(undefined, REQUIRED_SHAPE.micro, 'micro')).toEqual(['micro is missing']);
  });
});
