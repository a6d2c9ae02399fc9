import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { ObservableCounter, ObservableGauge, ObservableResult } from '@opentelemetry/api';
import { MetricService } from 'nestjs-otel';
import type { CodecErrorCode } from './codec/acs-media-codec';
import { PacingStats } from './pipeline/pacing-stats';

/** Media socket counters, read by the metrics exporter at scrape time (nothing per frame but a ++). */
@Injectable()
export class MediaStats implements OnModuleInit, OnModuleDestroy {
  sockets = 0;
  handlerErrors = 0;
  readonly rejectedFrames = new Map<CodecErrorCode, number>();
  /** How late the playout pacing timers of every call fire (recorded about once per sent frame). */
  readonly pacing = new PacingStats();
  private rejectedCounter: ObservableCounter | undefined;
  private socketsGauge: ObservableGauge | undefined;
  private lateCounter: ObservableCounter | undefined;

  constructor(private readonly metrics: MetricService) {}

  rejectFrame(code: CodecErrorCode): void {
    this.rejectedFrames.set(code, (this.rejectedFrames.get(code) ?? 0) + 1);
  }

  private readonly observeRejected = (r: ObservableResult) => {
    for (const [reason, n] of this.rejectedFrames) r.observe(n, { reason });
    r.observe(this.handlerErrors, { reason: 'handler_error' });
  };
  private readonly observeSockets = (r: ObservableResult) => r.observe(this.sockets);
  private readonly observeLate = (r: ObservableResult) => r.observe(this.pacing.lateOver10);

  onModuleInit(): void {
    this.rejectedCounter = this.metrics.getObservableCounter('voxline_media_frames_rejected', {
      description:
        'Inbound media frames rejected (malformed, unknown kind, too large) or failing in the handler',
    });
    this.rejectedCounter.addCallback(this.observeRejected);
    this.socketsGauge = this.metrics.getObservableGauge('voxline_media_sockets', {
      description: 'Open ACS media WebSockets on this replica',
    });
    this.socketsGauge.addCallback(this.observeSockets);
    this.lateCounter = this.metrics.getObservableCounter('voxline_playout_late_sends', {
      description:
        'Outbound audio sends whose pacing timer fired more than 10 ms late (event-loop delay: audible jitter)',
    });
    this.lateCounter.addCallback(this.observeLate);
  }

  onModuleDestroy(): void {
    this.rejectedCounter?.removeCallback(this.observeRejected);
    this.socketsGauge?.removeCallback(this.observeSockets);
    this.lateCounter?.removeCallback(this.observeLate);
  }
}
