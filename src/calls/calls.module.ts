import {
  BeforeApplicationShutdown,
  Global,
  Inject,
  Injectable,
  Module,
  OnModuleDestroy,
  OnModuleInit,
} from '@nestjs/common';
import type { ObservableCounter, ObservableResult } from '@opentelemetry/api';
import { MetricService } from 'nestjs-otel';
import type { Logger } from 'pino';
import { AppConfig } from '../config';
import { CallControl } from '../llm/call-control.port';
import { ROOT_LOGGER } from '../logging/root-logger.token';
import { SessionStore } from '../session/session-store';
import { AcsCallControl } from './acs-call-control';
import { AcsCallAutomation } from './automation/acs-call-automation';
import { LocalCallAutomation } from './automation/local-call-automation';
import { CallLeases } from './call-leases';
import { CallRegistry } from './call-registry';
import { CallUrls } from './call-urls';
import { CallbackProcessor } from './callback-processor';
import { CallsController } from './calls.controller';
import { CallsService } from './calls.service';
import { CallEventBus } from './events/call-event-bus';
import { CallEventHandlers } from './handlers/call-event-handlers';
import { CallAutomation } from './ports/call-automation.port';
import { AcsJwtVerifier } from './security/acs-jwt-verifier';
import { CallbackSigner } from './security/callback-signer';
import { WebhooksController } from './webhooks.controller';

function createAutomation(config: AppConfig, root: Logger): CallAutomation {
  const log = root.child({ module: 'calls' });
  if (!config.acs.connectionString) {
    log.info('ACS_CONNECTION_STRING is not set: call control is local (no phone network; media socket only)');
    return new LocalCallAutomation();
  }
  return new AcsCallAutomation({
    connectionString: config.acs.connectionString,
    timeoutMs: config.acs.timeoutMs,
  });
}

/** Callback counters as a metric, and an orderly end: accepted callbacks are handled before the store closes. */
@Injectable()
export class CallsLifecycle implements OnModuleInit, OnModuleDestroy, BeforeApplicationShutdown {
  constructor(
    private readonly config: AppConfig,
    private readonly processor: CallbackProcessor,
    private readonly handlers: CallEventHandlers,
    private readonly metrics: MetricService,
    @Inject(ROOT_LOGGER) private readonly log: Logger,
  ) {}

  private readonly observeCallbacks = (r: ObservableResult) => {
    const c = this.processor.counters;
    r.observe(c.accepted, { outcome: 'accepted' });
    r.observe(c.duplicates, { outcome: 'duplicate' });
    r.observe(c.unknown, { outcome: 'unknown' });
    r.observe(c.rejected, { outcome: 'rejected' });
    r.observe(c.failed, { outcome: 'failed' });
  };
  private counter: ObservableCounter | undefined;

  onModuleInit(): void {
    this.counter = this.metrics.getObservableCounter('voxline_acs_callback_events', {
      description:
        'ACS callback events by outcome (accepted, duplicate, unknown type, rejected, handler failed)',
    });
    this.counter.addCallback(this.observeCallbacks);
  }

  /** Instruments are process-wide: a closed app must stop reporting into them. */
  onModuleDestroy(): void {
    this.counter?.removeCallback(this.observeCallbacks);
  }

  async beforeApplicationShutdown(): Promise<void> {
    const budgetMs = Math.min(10_000, this.config.server.shutdownDrainSeconds * 1000 + 2000);
    if (!(await this.processor.drain(budgetMs)))
      this.log.error('shutdown: some accepted ACS callbacks were still being handled');
    await this.handlers.drain(budgetMs);
  }
}

@Global()
@Module({
  controllers: [CallsController, WebhooksController],
  providers: [
    { provide: CallAutomation, inject: [AppConfig, ROOT_LOGGER], useFactory: createAutomation },
    {
      provide: CallbackSigner,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new CallbackSigner(config.acs.callbackSigningSecret),
    },
    {
      provide: CallUrls,
      inject: [AppConfig, CallbackSigner],
      useFactory: (config: AppConfig, signer: CallbackSigner) => new CallUrls(config, signer),
    },
    {
      provide: AcsJwtVerifier,
      inject: [AppConfig],
      useFactory: (config: AppConfig) =>
        new AcsJwtVerifier({
          audience: config.acs.audience,
          issuer: config.acs.jwtIssuer,
          jwksUrl: config.acs.jwksUrl,
        }),
    },
    CallEventBus,
    CallRegistry,
    CallLeases,
    CallsService,
    CallEventHandlers,
    {
      provide: CallbackProcessor,
      inject: [SessionStore, CallEventHandlers, ROOT_LOGGER],
      useFactory: (store: SessionStore, handlers: CallEventHandlers, root: Logger) =>
        new CallbackProcessor(store, (event) => handlers.handle(event), root.child({ module: 'callbacks' })),
    },
    { provide: CallControl, useClass: AcsCallControl },
    CallsLifecycle,
  ],
  exports: [CallAutomation, CallEventBus, CallsService, CallRegistry, AcsJwtVerifier, CallControl],
})
export class CallsModule {}
