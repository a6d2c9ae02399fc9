import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { VERSION } from '../common/version';
import { ReadinessRegistry } from './readiness.registry';

const started = Date.now();

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly registry: ReadinessRegistry,
  ) {}

  /** Liveness: the process and its event loop answer. Cheap on purpose — no dependency is touched. */
  @Get('health')
  @ApiOkResponse({
    description: 'The process is alive',
    schema: { example: { status: 'ok', version: '0.1.0', uptimeSeconds: 12 } },
  })
  liveness() {
    return { status: 'ok', version: VERSION, uptimeSeconds: Math.round((Date.now() - started) / 1000) };
  }

  /**
   * Readiness: 503 only when this replica cannot take a new call (a critical dependency down beyond
   * its grace period, a selected driver failed to start, draining, or full). Lists every dependency.
   */
  @Get('ready')
  @ApiOkResponse({
    description: 'This replica can take a new call',
    schema: {
      example: {
        status: 'ok',
        ready: true,
        details: { sessionStore: { status: 'up', state: 'up', critical: true } },
      },
    },
  })
  @ApiServiceUnavailableResponse({
    description: 'This replica cannot take a new call; `error` names the dependencies at fault',
  })
  async readiness(@Res({ passthrough: true }) reply: FastifyReply) {
    const { ready, dependencies } = await this.registry.evaluate();
    const checks = Object.entries(dependencies).map(
      ([name, s]) =>
        async (): Promise<HealthIndicatorResult> => {
          const indicator = this.indicators.check(name);
          const data = { state: s.state, critical: s.critical, ...s.details };
          return s.critical && s.state === 'down' ? indicator.down(data) : indicator.up(data);
        },
    );
    try {
      const result = await this.health.check(checks);
      return { ...result, ready };
    } catch (err) {
      const body = (err as { getResponse?: () => unknown }).getResponse?.();
      if (!body || typeof body !== 'object') throw err;
      void reply.status(HttpStatus.SERVICE_UNAVAILABLE);
      return { ...body, ready: false };
    }
  }
}
