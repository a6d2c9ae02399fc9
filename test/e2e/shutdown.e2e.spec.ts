import pino from 'pino';
import { CallAdmission } from '../../src/lifecycle/call-admission.service';
import { gracefulShutdown } from '../../src/lifecycle/shutdown';
import { startTestApp, testTelemetry } from '../support/test-app';

describe('graceful shutdown', () => {
  it('keeps probes answering, reports not-ready while draining, waits for open calls, then exits 0', async () => {
    const t = await startTestApp({ SHUTDOWN_DRAIN_SECONDS: '5' });
    const lease = t.app.get(CallAdmission).admit('call-draining');
    const exit = jest.fn();
    const done = gracefulShutdown(
      {
        app: t.app,
        config: t.config,
        telemetry: testTelemetry(t.config).telemetry,
        logger: pino({ level: 'silent' }),
        exit,
        flushLogs: () => undefined,
      },
      'SIGTERM',
    );
    await new Promise((r) => setTimeout(r, 50));
    const ready = await fetch(`${t.baseUrl}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      ready: false,
      error: { calls: { draining: true, active: 1 } },
    });
    expect((await fetch(`${t.baseUrl}/health`)).status).toBe(200);
    expect(() => t.app.get(CallAdmission).admit('new-call')).toThrow(
      expect.objectContaining({ code: 'DRAINING' }),
    );
    expect(exit).not.toHaveBeenCalled();
    lease.release();
    await done;
    expect(exit).toHaveBeenCalledWith(0);
  });
});
