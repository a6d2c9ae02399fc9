import { cpSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, MAIN, runNode, spawnNode } from '../support/processes';

describe('the built service process', () => {
  it('serves /health on embedded defaults and exits 0 on SIGTERM well within the drain time', async () => {
    const p = spawnNode([MAIN], { PORT: '0', HOST: '127.0.0.1', SHUTDOWN_DRAIN_SECONDS: '5' });
    const listening = JSON.parse(await p.waitForLine(/voxline listening/)) as {
      port: number;
      config: Record<string, unknown>;
    };
    expect(listening.config.SHUTDOWN_DRAIN_SECONDS).toBe(5);
    const health = await fetch(`http://127.0.0.1:${listening.port}/health`);
    expect(health.status).toBe(200);
    const started = Date.now();
    p.child.kill('SIGTERM');
    const { code } = await p.exited;
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    // Service logs are JSON lines on stdout.
    for (const line of p.stdout.filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
    expect(p.stdout.some((l) => l.includes('shutdown: stopped'))).toBe(true);
  }, 30_000);

  it('refuses to start when an agent file is invalid, naming the file and the field', async () => {
    const root = mkdtempSync(join(tmpdir(), 'voxline-bad-scenarios-'));
    cpSync(join(__dirname, '..', '..', 'config', 'scenarios', 'insurance'), join(root, 'insurance'), {
      recursive: true,
    });
    const file = join(root, 'insurance', 'agents', 'claims.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('max_tokens: 250', 'max_tokens: lots'));
    const { code, stderr } = await runNode([MAIN], { PORT: '0', HOST: '127.0.0.1', SCENARIOS_DIR: root });
    expect(code).toBe(1);
    expect(stderr).toContain('insurance/agents/claims.yaml: model.max_tokens must be a number');
  }, 30_000);

  it('refuses to start with an invalid configuration, listing every problem', async () => {
    const { code, stderr } = await runNode([MAIN], { PORT: 'x', STT_DRIVER: 'azure' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/invalid configuration \(3 problems\)/);
    expect(stderr).toMatch(/PORT: expected an integer/);
    expect(stderr).toMatch(/AZURE_SPEECH_KEY is required/);
  });
});

describe('the voxline CLI', () => {
  it('is executable after the build', () => {
    expect(statSync(CLI).mode & 0o111).toBe(0o111);
  });

  it('prints its version', async () => {
    const { code, stdout } = await runNode([CLI, '--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('`config --json` prints only the masked configuration on stdout', async () => {
    const { code, stdout } = await runNode([CLI, 'config', '--json'], {
      ADMIN_API_KEY: 'a-very-secret-admin-key',
      LOG_LEVEL: 'debug',
    });
    expect(code).toBe(0);
    const parsed = JSON.parse(stdout) as Record<string, unknown>;
    expect(parsed).toMatchObject({ ADMIN_API_KEY: '****', LOG_LEVEL: 'debug', PORT: 8080 });
    expect(stdout).not.toContain('a-very-secret-admin-key');
  });

  it('fails with a one-line reason and a non-zero exit code', async () => {
    const bad = await runNode([CLI, 'config'], { LOG_LEVEL: 'chatty' });
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^voxline: invalid configuration .*LOG_LEVEL/);
    expect(bad.stdout).toBe('');
    const unknown = await runNode([CLI, 'frobnicate']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it('`serve` keeps stdout free: its logs go to stderr', async () => {
    const p = spawnNode([CLI, 'serve', '--port', '0'], { HOST: '127.0.0.1' });
    await p.waitForLine(/voxline listening/);
    p.child.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
    expect(p.stdout.filter(Boolean)).toEqual([]);
    expect(p.stderr.some((l) => l.includes('voxline listening'))).toBe(true);
  }, 30_000);
});
