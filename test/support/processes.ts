import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');
export const MAIN = join(ROOT, 'dist', 'main.js');

export interface Spawned {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first stdout/stderr line matching. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** Runs a built entry point with a clean environment (no .env from the repo: cwd is a temp dir). */
export function spawnNode(args: string[], env: Record<string, string>, cwd = '/tmp'): Spawned {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (l: string) => void }> = [];
  const feed = (sink: string[]) => {
    let partial = '';
    return (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        sink.push(line);
        for (const w of [...waiters]) {
          if (w.pattern.test(line)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    };
  };
  child.stdout!.on('data', feed(stdout));
  child.stderr!.on('data', feed(stderr));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout,
    stderr,
    exited,
    waitForLine(pattern, timeoutMs = 15_000) {
      const existing = [...stdout, ...stderr].find((l) => pattern.test(l));
      if (existing) return Promise.resolve(existing);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no line matching ${pattern} within ${timeoutMs} ms; stderr: ${stderr.slice(-5).join(' | ')}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({ pattern, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      });
    },
  };
}

/** Runs to completion and returns the exit code and output. */
export async function runNode(args: string[], env: Record<string, string> = {}, cwd = '/tmp') {
  const p = spawnNode(args, env, cwd);
  const { code } = await p.exited;
  return { code, stdout: p.stdout.join('\n'), stderr: p.stderr.join('\n') };
}
