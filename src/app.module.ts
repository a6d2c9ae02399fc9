import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { Logger } from 'pino';
import { AdminAuthGuard } from './common/auth/admin-auth.guard';
import { CallsModule } from './calls/calls.module';
import { WsUpgradePolicies } from './common/ws/ws-upgrade-policies';
import { MediaModule } from './media/media.module';
import { ConfigModule, type AppConfig } from './config';
import { HealthModule } from './health/health.module';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { LoggerModule } from './logging/logger.module';
import { ROOT_LOGGER } from './logging/root-logger.token';
import { LlmModule } from './llm/llm.module';
import { SessionModule } from './session/session.module';
import { SpeechModule } from './speech/speech.module';
import { TelemetryModule } from './telemetry/telemetry.module';
import type { Telemetry } from './telemetry/telemetry';

export interface AppDependencies {
  config: AppConfig;
  telemetry: Telemetry;
  logger: Logger;
}

@Module({})
export class AppModule {
  static forRoot({ config, telemetry, logger }: AppDependencies): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(logger),
        TelemetryModule.forRoot(telemetry),
        HealthModule,
        LifecycleModule,
        SessionModule,
        SpeechModule,
        LlmModule,
        CallsModule,
        MediaModule,
      ],
      providers: [
        { provide: ROOT_LOGGER, useValue: logger },
        { provide: APP_GUARD, useClass: AdminAuthGuard },
        WsUpgradePolicies,
      ],
      exports: [ROOT_LOGGER, WsUpgradePolicies],
    };
  }
}
