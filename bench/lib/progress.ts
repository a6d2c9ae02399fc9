/**
 * Progress on stderr. On a terminal, one bar redrawn in place (`\r`) for the running scenario; otherwise
 * (CI, a pipe) one line per milestone (start, every 25 %, done) so logs stay short and readable.
 * Log lines go through here too, so they never end up glued to a half-drawn bar.
 */
export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const MILESTONES = [0.25, 0.5, 0.75];
const BAR_WIDTH = 24;

export class Progress {
  private readonly tty: boolean;
  private scenario = '';
  private startedAt = 0;
  private lastFraction = 0;
  private nextMilestone = 0;
  private barShown = false;
  private lastDraw = 0;

  constructor(
    private readonly sink: ProgressSink,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tty = sink.isTTY === true;
  }

  start(scenario: string): void {
    this.clearBar();
    this.scenario = scenario;
    this.startedAt = this.now();
    this.lastFraction = 0;
    this.nextMilestone = 0;
    this.lastDraw = 0;
    if (!this.tty) this.sink.write(`[${scenario}] started\n`);
    else this.draw('starting', 0);
  }

  /** `fraction` in [0, 1] of the running scenario, with a short label of what it is doing. */
  update(label: string, fraction: number): void {
    const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
    this.lastFraction = f;
    if (this.tty) {
      // Redraw at most every 50 ms: a scenario may report progress per frame.
      const t = this.now();
      if (t - this.lastDraw >= 50 || f === 1) {
        this.lastDraw = t;
        this.draw(label, f);
      }
      return;
    }
    // A jump across several milestones prints the highest one only.
    let crossed = -1;
    while (this.nextMilestone < MILESTONES.length && f >= MILESTONES[this.nextMilestone])
      crossed = this.nextMilestone++;
    if (crossed >= 0)
      this.sink.write(`[${this.scenario}] ${Math.round(MILESTONES[crossed] * 100)}% ${label}\n`);
  }

  log(message: string): void {
    this.clearBar();
    this.sink.write(`[${this.scenario || 'bench'}] ${message}\n`);
    if (this.tty && this.scenario) this.draw('', this.lastFraction);
  }

  /** The scenario ended (`ok` false: it threw). */
  finish(ok: boolean): void {
    const seconds = ((this.now() - this.startedAt) / 1000).toFixed(1);
    this.clearBar();
    this.sink.write(`[${this.scenario}] ${ok ? 'done' : 'FAILED'} in ${seconds} s\n`);
    this.scenario = '';
  }

  private draw(label: string, fraction: number): void {
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
    const pct = `${Math.round(fraction * 100)}`.padStart(3);
    let line = `[${this.scenario}] ${bar} ${pct}% ${label}`;
    const columns = this.sink.columns;
    // Some terminals (or `script`) report 0 columns: assume a normal width then.
    const max = (columns !== undefined && columns >= 20 ? columns : 100) - 1;
    if (line.length > max) line = line.slice(0, max);
    this.sink.write(`\r\x1b[2K${line}`);
    this.barShown = true;
  }

  private clearBar(): void {
    if (!this.barShown) return;
    this.sink.write('\r\x1b[2K');
    this.barShown = false;
  }
}
