/**
 * `npm run bench [-- --quick] [--only micro,capacity] [--out DIR] [--json]` — the benchmark suite of
 * issue #7. Runs micro → capacity (Silero) → capacity (WebRTC) → sdk → local → soak, writes
 * `<out>/<timestamp>.json` (BenchReport, metric names from architecture.md) and `<out>/<timestamp>.html`,
 * and prints the summary table with the targets beside the measured values on stdout (the JSON report
 * instead with --json). Progress and logs go to stderr. Not a test: no target is asserted; the exit code
 * is non-zero only when a scenario throws or returns an incomplete result.
 *
 * With --only, `scenarios` holds only the scenarios that ran; without it every scenario must run.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileStamp, gitCommit, machineInfo } from './lib/machine';
import { Progress } from './lib/progress';
import { round } from './lib/stats';
import type { BenchContext, BenchReportDraft, CapacityResult } from './lib/types';
import { renderHtml } from './report/html';
import { renderTable, TARGETS } from './report/table';

export const SCENARIOS = ['micro', 'capacity', 'sdk', 'local', 'soak'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

const ROOT = resolve(__dirname, '..');
const USAGE = `usage: npm run bench -- [--quick] [--only ${SCENARIOS.join(',')}] [--out DIR] [--json]

  --quick        every scenario at small sizes (CI smoke test); every figure is still filled
  --only LIST    run only these scenarios (comma-separated); the report then holds only them
  --out DIR      where <timestamp>.json and <timestamp>.html go (default bench/results)
  --json         print the JSON report on stdout instead of the summary table
`;

export interface CliOptions {
  quick: boolean;
  only: ScenarioName[] | undefined;
  out: string;
  json: boolean;
  help: boolean;
}

export function parseCli(argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  let only: ScenarioName[] | undefined;
  if (values.only !== undefined) {
    const names = values.only
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = names.filter((n) => !(SCENARIOS as readonly string[]).includes(n));
    if (unknown.length > 0 || names.length === 0)
      throw new Error(`--only takes scenarios among ${SCENARIOS.join(', ')}; got ${values.only}`);
    only = SCENARIOS.filter((s) => names.includes(s));
  }
  return {
    quick: values.quick === true,
    only,
    out: resolve(values.out ?? join(ROOT, 'bench', 'results')),
    json: values.json === true,
    help: values.help === true,
  };
}

// ---- the required shape of each scenario's result (every leaf a finite number, `steps` non-empty) ----

type Shape = number | Shape[] | { [key: string]: Shape };
const P = { p50: 0, p99: 0 };
const P95 = { p50: 0, p95: 0 };
const STEP: Shape = {
  calls: 0,
  loop_lag_ms: { p50: 0, p99: 0, max: 0 },
  jitter_ms: { p99: 0 },
  overhead_ms: P,
  bargein_ms: P,
  e2e_latency_ms: P,
  cpu_ms_per_call_s: 0,
  rss_mb_per_call: 0,
  dropped_frames: 0,
  vad_delay_ms: { p50: 0, p99: 0, max: 0 },
};
const CAPACITY: Shape = { calls_per_core: 0, steps: [STEP] };
export const REQUIRED_SHAPE: Record<ScenarioName, Shape> = {
  micro: {
    codec_parse_us: 0,
    encode_send_us: 0,
    resampler_us: 0,
    vad_silero_us: 0,
    vad_webrtc_us: 0,
    chunker_us: 0,
    playout_us: 0,
    floor_calls_per_core: 0,
    floor_calls_per_core_webrtc: 0,
  },
  capacity: { silero: CAPACITY, webrtc: CAPACITY },
  sdk: CAPACITY,
  local: { e2e_latency_ms: P95, stt_final_ms: P95, tts_ttfb_ms: P95, concurrent_calls: 0 },
  soak: {
    calls: 0,
    rss_mb: { before: 0, after: 0 },
    heap_mb: { before: 0, after: 0 },
    handles: { before: 0, after: 0 },
  },
};

/** Where `value` departs from `shape`: missing keys, non-finite numbers, empty arrays. */
export function shapeProblems(value: unknown, shape: Shape, path: string): string[] {
  if (typeof shape === 'number')
    return typeof value === 'number' && Number.isFinite(value)
      ? []
      : [`${path} is ${typeof value === 'number' ? String(value) : typeof value}, not a finite number`];
  if (Array.isArray(shape)) {
    if (!Array.isArray(value) || value.length === 0) return [`${path} is not a non-empty array`];
    return value.flatMap((v, i) => shapeProblems(v, shape[0], `${path}[${i}]`));
  }
  if (typeof value !== 'object' || value === null) return [`${path} is missing`];
  const obj = value as Record<string, unknown>;
  return Object.entries(shape).flatMap(([k, s]) => shapeProblems(obj[k], s, `${path}.${k}`));
}

// ---- scenario modules ----

/** A scenario whose module is absent or malformed: reported in one line, without a stack. */
class ScenarioModuleError extends Error {}

type RunFn = (ctx: BenchContext, options?: Record<string, unknown>) => Promise<unknown>;

/**
 * Loads bench/scenarios/<name>.ts at run time, so a scenario that is not written yet fails that scenario
 * (clearly) instead of the whole suite failing to compile.
 */
async function loadScenario(name: string): Promise<RunFn> {
  const base = join(__dirname, 'scenarios', name);
  if (!['.ts', '.js'].some((ext) => existsSync(base + ext)))
    throw new ScenarioModuleError(
      `scenario module bench/scenarios/${name}.ts does not exist (not implemented yet)`,
    );
  const mod: unknown = await import(base);
  const run = typeof mod === 'object' && mod !== null ? (mod as { run?: unknown }).run : undefined;
  if (typeof run !== 'function')
    throw new ScenarioModuleError(`bench/scenarios/${name}.ts does not export run(ctx, options)`);
  return run as RunFn;
}

interface Job {
  /** Label in progress output and failures. */
  label: string;
  scenario: ScenarioName;
  execute(ctx: BenchContext): Promise<unknown>;
  store(report: BenchReportDraft, result: unknown): void;
}

function jobs(selected: readonly ScenarioName[]): Job[] {
  const list: Job[] = [];
  const want = (s: ScenarioName) => selected.includes(s);
  if (want('micro'))
    list.push({
      label: 'micro',
      scenario: 'micro',
      // Loaded on use, like the others: importing this module (tests) must not load the speech engines.
      execute: async (ctx) => (await import('./scenarios/micro')).run(ctx),
      store: (r, v) => (r.scenarios.micro = v as NonNullable<BenchReportDraft['scenarios']['micro']>),
    });
  if (want('capacity'))
    for (const vad of ['silero', 'webrtc'] as const)
      list.push({
        label: `capacity ${vad}`,
        scenario: 'capacity',
        execute: async (ctx) => (await loadScenario('capacity'))(ctx, { vad }),
        store: (r, v) => (r.scenarios.capacity = { ...r.scenarios.capacity, [vad]: v as CapacityResult }),
      });
  for (const name of ['sdk', 'local', 'soak'] as const)
    if (want(name))
      list.push({
        label: name,
        scenario: name,
        execute: async (ctx) => (await loadScenario(name))(ctx),
        store: (r, v) => Object.assign(r.scenarios, { [name]: v }),
      });
  return list;
}

/** Capacity as a fraction of the micro floor for the same VAD (sdk runs with the default, Silero). */
function addFloorFractions(report: BenchReportDraft): void {
  const micro = report.scenarios.micro;
  if (!micro) return;
  const set = (r: CapacityResult | undefined, floor: number | undefined) => {
    if (r && typeof r.calls_per_core === 'number' && floor !== undefined && floor > 0)
      r.floor_fraction = round(r.calls_per_core / floor, 3);
  };
  set(report.scenarios.capacity?.silero, micro.floor_calls_per_core);
  set(report.scenarios.capacity?.webrtc, micro.floor_calls_per_core_webrtc);
  set(report.scenarios.sdk, micro.floor_calls_per_core);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function main(argv: string[]): Promise<number> {
  let cli: CliOptions;
  try {
    cli = parseCli(argv);
  } catch (err) {
    process.stderr.write(`bench: ${message(err)}\n${USAGE}`);
    return 2;
  }
  if (cli.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const startedAt = new Date().toISOString();
  const report: BenchReportDraft = {
    machine: machineInfo(),
    commit: gitCommit(ROOT),
    startedAt,
    quick: cli.quick,
    scenarios: {},
    targets: { ...TARGETS },
  };
  const selected = cli.only ?? SCENARIOS;
  const progress = new Progress(process.stderr);
  const failures: { scenario: string; error: string }[] = [];
  progress.log(
    `running ${selected.join(', ')}${cli.quick ? ' (quick)' : ''} on ${report.machine.cpus} × ${report.machine.model}`,
  );

  for (const job of jobs(selected)) {
    const ctx: BenchContext = {
      quick: cli.quick,
      progress: (label, fraction) => progress.update(label, fraction),
      log: (line) => progress.log(line),
    };
    progress.start(job.label);
    try {
      const result = await job.execute(ctx);
      job.store(report, result);
      const shape = REQUIRED_SHAPE[job.scenario];
      const problems =
        job.scenario === 'capacity'
          ? shapeProblems(result, CAPACITY, job.label.replace(' ', '.'))
          : shapeProblems(result, shape, job.scenario);
      if (problems.length > 0) throw new Error(`incomplete result: ${problems.slice(0, 5).join('; ')}`);
      progress.finish(true);
    } catch (err) {
      progress.finish(false);
      const error = message(err);
      failures.push({ scenario: job.label, error });
      const detail =
        err instanceof Error && !(err instanceof ScenarioModuleError) && err.stack ? err.stack : error;
      progress.log(`${job.label} failed: ${detail}`);
    }
  }

  addFloorFractions(report);
  if (report.scenarios.micro) {
    const { FLOOR_FORMULA } = await import('./scenarios/micro');
    report.notes = {
      floor_calls_per_core: FLOOR_FORMULA,
      micro_units: 'µs per 20 ms frame (16 kHz, 640 bytes), except chunker_us: µs per LLM token',
    };
  }
  if (failures.length > 0) report.failures = failures;

  await mkdir(cli.out, { recursive: true });
  const base = join(cli.out, fileStamp(startedAt));
  await writeFile(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(`${base}.html`, renderHtml(report));
  progress.log(`report: ${base}.json and ${base}.html`);

  process.stdout.write(cli.json ? `${JSON.stringify(report, null, 2)}\n` : renderTable(report));
  if (failures.length > 0) {
    progress.log(`${failures.length} scenario(s) failed: ${failures.map((f) => f.scenario).join(', ')}`);
    return 1;
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      // Scenarios own servers, pools and workers; a handle one of them forgot must not hang CI.
      process.stdout.write('', () => process.exit(code));
    },
    (err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
