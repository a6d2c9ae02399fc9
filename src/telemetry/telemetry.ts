import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  NoopSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { AppConfig } from '../config';
import { VERSION } from '../common/version';

export interface TelemetryOptions {
  /** Extra exporter (tests pass an InMemorySpanExporter); exported synchronously, span by span. */
  spanExporter?: SpanExporter;
  /** Overrides the generated service.instance.id. */
  instanceId?: string;
  /** Where the SDK's own diagnostics go (warnings and errors only). */
  diagLogger?: DiagLogger;
}

/**
 * The OpenTelemetry SDK for this process: started before Nest so that every span and metric has the
 * same resource (service.name, service.instance.id). Spans are always recorded (ids appear in logs);
 * they are exported only when an OTLP endpoint is configured or a test exporter is given.
 */
export class Telemetry {
  readonly instanceId: string;
  private readonly prometheus = new PrometheusExporter({ preventServerStart: true });
  private readonly serializer = new PrometheusSerializer();
  private readonly sdk: NodeSDK;
  private stopped = false;

  private constructor(config: AppConfig, options: TelemetryOptions) {
    this.instanceId = options.instanceId ?? `${hostname()}-${randomUUID().slice(0, 8)}`;
    const processors: SpanProcessor[] = [];
    if (config.telemetry.otlpEndpoint) {
      const url = `${config.telemetry.otlpEndpoint.replace(/\/+$/, '')}/v1/traces`;
      processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url, timeoutMillis: 10_000 })));
    }
    if (options.spanExporter) processors.push(new SimpleSpanProcessor(options.spanExporter));
    if (processors.length === 0) processors.push(new NoopSpanProcessor());
    if (options.diagLogger) diag.setLogger(options.diagLogger, DiagLogLevel.WARN);

    this.sdk = new NodeSDK({
      autoDetectResources: false,
      resource: resourceFromAttributes({
        'service.name': config.telemetry.serviceName,
        'service.instance.id': this.instanceId,
        'service.version': VERSION,
        'host.name': hostname(),
        'process.pid': process.pid,
      }),
      spanProcessors: processors,
      metricReaders: [this.prometheus],
      logRecordProcessors: [],
      instrumentations: [],
      textMapPropagator: new CompositePropagator({
        propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
      }),
    });
  }

  static start(config: AppConfig, options: TelemetryOptions = {}): Telemetry {
    const telemetry = new Telemetry(config, options);
    telemetry.sdk.start();
    return telemetry;
  }

  /** Current metrics in the Prometheus text exposition format. */
  async prometheusText(): Promise<string> {
    const { resourceMetrics, errors } = await this.prometheus.collect();
    if (errors.length > 0) diag.warn('metric collection errors', errors);
    return this.serializer.serialize(resourceMetrics);
  }

  /** Flushes pending spans and stops the providers, bounded by `timeoutMs`. */
  async shutdown(timeoutMs = 5000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.sdk.shutdown().catch((err: unknown) => diag.error('telemetry shutdown failed', err)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }
}
