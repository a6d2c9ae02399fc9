import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { MetricService } from 'nestjs-otel';
import { CallAdmission } from '../lifecycle/call-admission.service';

/**
 * Process-level gauges read at scrape time: event-loop delay (the first thing to degrade when a replica
 * carries too many calls), memory, and the calls this replica carries.
 */
@Injectable()
export class RuntimeMetrics implements OnModuleInit, OnModuleDestroy {
  private loopDelay: IntervalHistogram | undefined;

  constructor(
    private readonly metrics: MetricService,
    private readonly admission: CallAdmission,
  ) {}

  onModuleInit(): void {
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    this.loopDelay = loop;
    this.metrics
      .getObservableGauge('voxline_event_loop_delay_ms', {
        description: 'Event-loop delay since the previous scrape',
        unit: 'ms',
      })
      .addCallback((r) => {
        if (loop.count === 0) return;
        r.observe(loop.percentile(50) / 1e6, { quantile: '0.5' });
        r.observe(loop.percentile(99) / 1e6, { quantile: '0.99' });
        r.observe(loop.max / 1e6, { quantile: '1' });
        loop.reset();
      });
    this.metrics
      .getObservableGauge('voxline_process_memory_bytes', { description: 'Process memory', unit: 'By' })
      .addCallback((r) => {
        const m = process.memoryUsage();
        r.observe(m.rss, { type: 'rss' });
        r.observe(m.heapUsed, { type: 'heap_used' });
        r.observe(m.external, { type: 'external' });
      });
    this.metrics
      .getObservableGauge('voxline_calls_active', { description: 'Calls carried by this replica' })
      .addCallback((r) => r.observe(this.admission.activeCount));
    this.metrics
      .getObservableGauge('voxline_calls_capacity', { description: 'MAX_CONCURRENT_CALLS of this replica' })
      .addCallback((r) => r.observe(this.admission.capacity));
  }

  onModuleDestroy(): void {
    this.loopDelay?.disable();
  }
}
