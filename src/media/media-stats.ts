import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { ObservableCounter, ObservableGauge, ObservableResult } from '@opentelemetry/api';
import { MetricService } from 'nestjs-otel';
import type { CodecErrorCode } from './codec/acs-media-codec';

/** Media socket counters, read by the metrics exporter at scrape time (nothing per frame but a ++). */
@Injectable()
export class MediaStats implements OnModuleInit, OnModuleDestroy {
  sockets = 0;
  handlerErrors = 0;
  readonly rejectedFrames = new Map<CodecErrorCode, number>();
  private rejectedCounter: ObservableCounter | undefined;
  private socketsGauge: ObservableGauge | undefined;

  constructor(private readonly metrics: MetricService) {}

  rejectFrame(code: CodecErrorCode): void {
    this.rejectedFrames.set(code, (this.rejectedFrames.get(code) ?? 0) + 1);
  }

  private readonly observeRejected = (r: ObservableResult) => {
    for (const [reason, n] of this.rejectedFrames) r.observe(n, { reason });
    r.observe(this.handlerErrors, { reason: 'handler_error' });
  };
  private readonly observeSockets = (r: ObservableResult) => r.observe(this.sockets);

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
  }

  onModuleDestroy(): void {
    this.rejectedCounter?.removeCallback(this.observeRejected);
    this.socketsGauge?.removeCallback(this.observeSockets);
  }
}
