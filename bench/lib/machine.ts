import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import type { BenchReport } from './types';

/** The machine a report came from: figures only compare between runs on the same one. */
export function machineInfo(): BenchReport['machine'] {
  const list = cpus();
  return {
    cpus: list.length,
    model: list[0]?.model.trim() ?? 'unknown',
    memory_gb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** Short commit of the checkout at `cwd`, `unknown` when it is not a git checkout (or git is missing). */
export function gitCommit(cwd: string): string {
  try {
    const out = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd,
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5_000,
    });
    return out.toString('utf8').trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}

/** A file-name-safe form of an ISO timestamp: `2026-11-21T10-22-33-123Z`. */
export function fileStamp(iso: string): string {
  return iso.replace(/[:.]/g, '-');
}
