import { Injectable } from '@nestjs/common';
import type { Histogram } from '@opentelemetry/api';
import { MetricService } from 'nestjs-otel';
import { TURN_METRIC_NAMES, type TurnMetrics } from '../session/session.types';

/** Per-turn latency histograms (`voxline_turn_<metric>`, ms), fed once per turn — never per frame. */
@Injectable()
export class TurnMetricsRecorder {
  private readonly histograms = new Map<string, Histogram>();

  constructor(metrics: MetricService) {
    for (const name of TURN_METRIC_NAMES) {
      this.histograms.set(
        name,
        metrics.getHistogram(`voxline_turn_${name}`, {
          description: `Per-turn ${name} (see docs/media.md)`,
          unit: 'ms',
          advice: {
            explicitBucketBoundaries: [5, 10, 25, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000],
          },
        }),
      );
    }
  }

  readonly observe = (m: TurnMetrics): void => {
    for (const [name, histogram] of this.histograms) {
      const v = m[name as keyof TurnMetrics];
      if (typeof v === 'number') histogram.record(v);
    }
  };
}
