import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/**
 * Bench child processes (the service under test, the load generator, the SDK fakes), each pinned to one
 * CPU with `taskset` when it exists, talking to the scenario over the Node IPC channel with
 * request/response messages. Every request has a deadline; children are killed on close and on errors.
 */

export const ROOT = join(__dirname, '..', '..');

export interface IpcRequest {
  id: number;
  op: string;
  args?: unknown;
}

export interface IpcResponse {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

let tasksetChecked: boolean | undefined;

/** True when `taskset` runs here (util-linux); checked once. */
export function tasksetAvailable(): boolean {
  if (tasksetChecked === undefined) {
    const r = spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    tasksetChecked = r.status === 0;
  }
  return tasksetChecked;
}

export interface SpawnBenchOptions {
  /** Entry file relative to the repository root (TypeScript, run through @swc-node/register). */
  entry: string;
  args?: string[];
  /** CPU to pin to; ignored (recorded as unpinned) when taskset is missing or there is one CPU. */
  cpu?: number;
  env?: Record<string, string>;
  nodeFlags?: string[];
  /** A child line on stderr (the service's warn logs); default: dropped. */
  onStderr?: (line: string) => void;
  name: string;
}

/** A running bench child with an IPC channel. */
export class BenchChild {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  private readonly stdoutLines: string[] = [];
  private readonly lineWaiters: Array<(line: string) => void> = [];
  readonly stderrTail: string[] = [];
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exitPromise: Promise<void>;

  private constructor(
    readonly child: ChildProcess,
    readonly name: string,
    readonly pinned: boolean,
    onStderr?: (line: string) => void,
  ) {
    child.on('message', (msg: IpcResponse) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(`${name}: ${msg.error ?? 'failed'}`));
    });
    lines(child.stdout!, (line) => {
      const w = this.lineWaiters.shift();
      if (w) w(line);
      else this.stdoutLines.push(line);
    });
    lines(child.stderr!, (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > 20) this.stderrTail.shift();
      onStderr?.(line);
    });
    this.exitPromise = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exited = { code, signal };
        for (const [id, p] of this.pending) {
          clearTimeout(p.timer);
          p.reject(new Error(`${name} exited (${code ?? signal}) during request ${id}: ${this.tail()}`));
        }
        this.pending.clear();
        resolve();
      }),
    );
  }

  static spawn(options: SpawnBenchOptions): BenchChild {
    const pin = options.cpu !== undefined && tasksetAvailable();
    const nodeArgs = [
      ...(options.nodeFlags ?? []),
      '-r',
      '@swc-node/register',
      join(ROOT, options.entry),
      ...(options.args ?? []),
    ];
    const command = pin ? 'taskset' : process.execPath;
    const args = pin ? ['-c', String(options.cpu), process.execPath, ...nodeArgs] : nodeArgs;
    const child = spawn(command, args, {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    return new BenchChild(child, options.name, pin, options.onStderr);
  }

  /** The next stdout line (the service prints its port as one JSON line). */
  nextLine(timeoutMs: number): Promise<string> {
    const line = this.stdoutLines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.lineWaiters.splice(this.lineWaiters.indexOf(waiter), 1);
        reject(new Error(`${this.name}: no output within ${timeoutMs} ms: ${this.tail()}`));
      }, timeoutMs);
      const waiter = (l: string) => {
        clearTimeout(timer);
        resolve(l);
      };
      this.lineWaiters.push(waiter);
      void this.exitPromise.then(() => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited before printing a line: ${this.tail()}`));
      });
    });
  }

  request<T>(op: string, args: unknown, timeoutMs: number): Promise<T> {
    if (this.exited || !this.child.connected)
      return Promise.reject(new Error(`${this.name} is not running: ${this.tail()}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: no answer to ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ id, op, args } satisfies IpcRequest);
    });
  }

  /** Asks the child to close (op `close`), then SIGTERM, then SIGKILL; always resolves. */
  async close(graceMs = 5000): Promise<void> {
    if (this.exited) return;
    try {
      await this.request('close', undefined, graceMs);
      // It exits on its own (writing a --cpu-prof profile takes a moment); signals only if it does not.
      await Promise.race([this.exitPromise, new Promise((r) => setTimeout(r, graceMs))]);
    } catch {
      // fall through to signals
    }
    if (!this.exited) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await Promise.race([this.exitPromise, new Promise((r) => setTimeout(r, 4000))]);
    clearTimeout(timer);
  }

  private tail(): string {
    return this.stderrTail.slice(-5).join(' | ').slice(-1500);
  }
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let partial = '';
  stream.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) if (l) onLine(l);
  });
}

export type IpcHandler = (args: unknown) => unknown;

/** Child side: answers requests from the parent; op `close` runs `onClose` then exits. */
export function serveIpc(handlers: Record<string, IpcHandler>, onClose: () => Promise<void>): void {
  if (!process.send) throw new Error('this bench process must be started by a scenario (IPC channel)');
  const reply = (msg: IpcResponse) => {
    if (process.connected) process.send!(msg);
  };
  process.on('message', (msg: IpcRequest) => {
    if (msg.op === 'close') {
      void onClose()
        .catch(() => undefined)
        .finally(() => {
          reply({ id: msg.id, ok: true });
          setTimeout(() => process.exit(0), 50);
        });
      return;
    }
    const handler = handlers[msg.op];
    if (!handler) return reply({ id: msg.id, ok: false, error: `unknown op ${msg.op}` });
    Promise.resolve()
      .then(() => handler(msg.args))
      .then(
        (result) => reply({ id: msg.id, ok: true, result }),
        (err: unknown) =>
          reply({ id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
      );
  });
  // The parent went away: nothing left to serve.
  process.on('disconnect', () => {
    void onClose()
      .catch(() => undefined)
      .finally(() => process.exit(0));
  });
}

/** Reads `--name value` flags (and bare `--flag` as "true"). */
export function parseFlags(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const key = a.slice(2);
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      out[key] = next;
      i++;
    } else out[key] = 'true';
  }
  return out;
}

export function numberFlag(flags: Record<string, string>, name: string, fallback: number): number {
  const v = flags[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${v}`);
  return n;
}
