import { DynamicModule, Global, Module } from '@nestjs/common';
import { OpenTelemetryModule } from 'nestjs-otel';
import { MetricsController } from './metrics.controller';
import { RuntimeMetrics } from './runtime-metrics';
import { Telemetry } from './telemetry';

/** Exposes the already-started Telemetry, nestjs-otel's MetricService, and GET /metrics. */
@Global()
@Module({})
export class TelemetryModule {
  static forRoot(telemetry: Telemetry): DynamicModule {
    return {
      module: TelemetryModule,
      imports: [OpenTelemetryModule.forRoot({ metrics: { hostMetrics: false } })],
      controllers: [MetricsController],
      providers: [{ provide: Telemetry, useValue: telemetry }, RuntimeMetrics],
      exports: [Telemetry, OpenTelemetryModule],
    };
  }
}
