import { Injectable } from '@nestjs/common';

export type DependencyState = 'up' | 'degraded' | 'down';

export interface DependencyStatus {
  state: DependencyState;
  /** Whether a 'down' state makes this replica unable to take a new call (→ /ready 503). */
  critical: boolean;
  details?: Record<string, unknown>;
}

export type ReadinessCheck = () => DependencyStatus | Promise<DependencyStatus>;

/**
 * Modules register one check per dependency (session store, speech pools, drivers…). /ready lists them
 * all; it is 503 only when a critical one is down. Checks must be cheap and non-blocking: they report
 * state the module already tracks (with its own grace period), they do not probe on the request path.
 */
@Injectable()
export class ReadinessRegistry {
  private readonly checks = new Map<string, ReadinessCheck>();

  register(name: string, check: ReadinessCheck): void {
    if (this.checks.has(name)) throw new Error(`readiness check "${name}" registered twice`);
    this.checks.set(name, check);
  }

  unregister(name: string): void {
    this.checks.delete(name);
  }

  async evaluate(
    timeoutMs = 1000,
  ): Promise<{ ready: boolean; dependencies: Record<string, DependencyStatus> }> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]) => [name, await runCheck(check, timeoutMs)] as const),
    );
    const dependencies = Object.fromEntries(entries);
    const ready = entries.every(([, s]) => !(s.critical && s.state === 'down'));
    return { ready, dependencies };
  }
}

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<DependencyStatus> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.resolve().then(check),
      new Promise<DependencyStatus>((resolve) => {
        timer = setTimeout(
          () =>
            resolve({
              state: 'down',
              critical: true,
              details: { error: `check timed out after ${timeoutMs} ms` },
            }),
          timeoutMs,
        );
      }),
    ]);
  } catch (err) {
    return {
      state: 'down',
      critical: true,
      details: { error: err instanceof Error ? err.message : String(err) },
    };
  } finally {
    clearTimeout(timer);
  }
}
