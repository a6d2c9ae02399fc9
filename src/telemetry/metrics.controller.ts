import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Telemetry } from './telemetry';

@ApiTags('health')
@Controller()
export class MetricsController {
  constructor(private readonly telemetry: Telemetry) {}

  /** Prometheus scrape endpoint (the chart's ServiceMonitor points here). */
  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'Metrics in the Prometheus text exposition format',
    schema: { type: 'string', example: '# TYPE voxline_calls_active gauge\nvoxline_calls_active 3\n' },
  })
  metrics(): Promise<string> {
    return this.telemetry.prometheusText();
  }
}
