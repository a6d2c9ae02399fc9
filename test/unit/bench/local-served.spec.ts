import { served } from '../../../bench/scenarios/local';

describe('local scenario: a level is served', () => {
  const level = (service: number, callers: number, unanswered: number, turns = 50) => ({
    e2e_latency_ms: { p50: 0, p95: service },
    client_e2e_latency_ms: { p50: 0, p95: callers },
    unanswered,
    caller_turns: turns,
  });

  it('when the service and its callers both see replies within 2 s at p95', () => {
    expect(served(level(1400, 1500, 0))).toBe(true);
    expect(served(level(2000, 1500, 0))).toBe(false);
  });

  it('not when only the session metric is fast and the callers wait (turns queued for a decoder)', () => {
    expect(served(level(1882, 10014, 0))).toBe(false);
  });

  it('not when more than a fifth of the callers turns get no reply', () => {
    expect(served(level(500, 600, 10, 50))).toBe(true);
    expect(served(level(500, 600, 11, 50))).toBe(false);
  });
});
