import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../support/processes';

/**
 * CI smoke test of issue #7: `npm run bench -- --quick` produces a complete JSON report and an HTML
 * report with charts. No timing is asserted: the figures depend on the machine.
 */
type Shape = number | Shape[] | { [key: string]: Shape };
const P = { p50: 0, p99: 0 };
const P95 = { p50: 0, p95: 0 };
const STEP = {
  calls: 0,
  loop_lag_ms: { p50: 0, p99: 0, max: 0 },
  jitter_ms: { p99: 0 },
  overhead_ms: P,
  bargein_ms: P,
  e2e_latency_ms: P,
  cpu_ms_per_call_s: 0,
  rss_mb_per_call: 0,
  dropped_frames: 0,
};
const CAPACITY = { calls_per_core: 0, steps: [STEP] };
/** The required shape of the report's scenarios, written out independently of bench/run.ts. */
const SCENARIOS: Shape = {
  capacity: { silero: CAPACITY, webrtc: CAPACITY },
  sdk: CAPACITY,
  local: { e2e_latency_ms: P95, stt_final_ms: P95, tts_ttfb_ms: P95, concurrent_calls: 0 },
  soak: {
    calls: 0,
    rss_mb: { before: 0, after: 0 },
    heap_mb: { before: 0, after: 0 },
    handles: { before: 0, after: 0 },
  },
  micro: {
    codec_parse_us: 0,
    encode_send_us: 0,
    resampler_us: 0,
    vad_silero_us: 0,
    vad_webrtc_us: 0,
    chunker_us: 0,
    playout_us: 0,
    floor_calls_per_core: 0,
  },
};

function problems(value: unknown, shape: Shape, path: string): string[] {
  if (typeof shape === 'number')
    return typeof value === 'number' && Number.isFinite(value) ? [] : [`${path} = ${String(value)}`];
  if (Array.isArray(shape))
    return Array.isArray(value) && value.length > 0
      ? value.flatMap((v, i) => problems(v, shape[0], `${path}[${i}]`))
      : [`${path} is not a non-empty array`];
  if (typeof value !== 'object' || value === null) return [`${path} is missing`];
  return Object.entries(shape).flatMap(([k, s]) =>
    problems((value as Record<string, unknown>)[k], s, `${path}.${k}`),
  );
}

describe('npm run bench -- --quick', () => {
  const out = mkdtempSync(join(tmpdir(), 'voxline-bench-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it(
    'writes a complete JSON report and a self-contained HTML report with charts',
    async () => {
      const child = spawn('npm', ['run', '--silent', 'bench', '--', '--quick', '--out', out], {
        cwd: ROOT,
        env: { ...process.env, CI: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect({ code, stderr: code === 0 ? '' : stderr.slice(-4000) }).toEqual({ code: 0, stderr: '' });

      const files = readdirSync(out).sort();
      expect(files).toHaveLength(2);
      const [htmlFile, jsonFile] = files;
      expect(jsonFile).toMatch(/^\d{4}-\d{2}-\d{2}T[\d-]+Z\.json$/);
      expect(htmlFile).toBe(jsonFile.replace(/\.json$/, '.html'));

      const report = JSON.parse(readFileSync(join(out, jsonFile), 'utf8')) as Record<string, unknown>;
      expect(report).toMatchObject({
        quick: true,
        commit: expect.any(String),
        startedAt: expect.any(String),
        machine: {
          cpus: expect.any(Number),
          model: expect.any(String),
          memory_gb: expect.any(Number),
          node: expect.any(String),
          platform: expect.any(String),
        },
      });
      expect(report.failures).toBeUndefined();
      expect(problems(report.scenarios, SCENARIOS, 'scenarios')).toEqual([]);

      const html = readFileSync(join(out, htmlFile), 'utf8');
      expect(html).toContain('<svg');
      expect(html.split('<svg').length).toBe(html.split('<figure class="chart"').length);
      // stdout is the summary table (progress and logs went to stderr).
      expect(stdout).toMatch(/^scenario\s+measure\s+measured\s+target/m);
      expect(stdout).not.toContain('\r');
    },
    8 * 60_000,
  );
});
