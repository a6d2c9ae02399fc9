import { TcpProxy } from '../../fakes/tcp-proxy';
import { startTestApp, type TestApp } from '../../support/test-app';
import { until } from '../../support/wait';

async function readyStatus(t: TestApp) {
  const res = await fetch(`${t.baseUrl}/ready`);
  return { status: res.status, body: (await res.json()) as { details: { sessionStore: { state: string } } } };
}

describe('/ready with the Redis session store (real Redis behind a cuttable proxy)', () => {
  let proxy: TcpProxy;
  let t: TestApp;
  beforeAll(async () => {
    proxy = await new TcpProxy('127.0.0.1', 6379).start();
    t = await startTestApp({
      REDIS_URL: proxy.url,
      READY_GRACE_SECONDS: '1',
      REDIS_COMMAND_TIMEOUT_MS: '300',
    });
    await until(async () => (await readyStatus(t)).body.details.sessionStore.state === 'up');
  });
  afterAll(async () => {
    await t.close();
    await proxy.stop();
  });

  it('rides out a blip within the grace period, turns 503 after it, and recovers when Redis is back', async () => {
    proxy.cut();
    await until(async () => (await readyStatus(t)).body.details.sessionStore.state !== 'up');
    const blip = await readyStatus(t);
    expect(blip.status).toBe(200);
    expect(blip.body.details.sessionStore.state).toBe('degraded');

    await until(async () => (await readyStatus(t)).status === 503);
    expect((await readyStatus(t)).body.details.sessionStore.state).toBe('down');
    // Liveness is unaffected: the process is fine, only a dependency is not.
    expect((await fetch(`${t.baseUrl}/health`)).status).toBe(200);
    // Reads that need the store fail with a clear 503 problem, not a hang or a 500.
    const res = await fetch(`${t.baseUrl}/api/v1/sessions`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: 'STORE_UNAVAILABLE' });

    proxy.restore();
    await until(async () => (await readyStatus(t)).status === 200, 15_000);
    expect((await readyStatus(t)).body.details.sessionStore.state).toBe('up');
  }, 40_000);
});
