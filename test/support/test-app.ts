import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { createApp } from '../../src/app.factory';
import { loadConfig, type AppConfig } from '../../src/config';
import { createRootLogger } from '../../src/logging/logger';
import { Telemetry } from '../../src/telemetry/telemetry';

/** Collects JSON log lines written by the app. */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      this.raw.push(line);
      this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    cb();
  }

  find(predicate: (l: Record<string, unknown>) => boolean): Record<string, unknown> | undefined {
    return this.lines.find(predicate);
  }
}

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  baseUrl: string;
  wsUrl: string;
  logs: LogCapture;
  spans: InMemorySpanExporter;
  close(): Promise<void>;
}

/**
 * Telemetry is process-global (OTel API globals), so a test file starts it once and shares it between
 * the apps it creates.
 */
let shared: { telemetry: Telemetry; spans: InMemorySpanExporter } | undefined;

export function testTelemetry(config: AppConfig) {
  if (!shared) {
    const spans = new InMemorySpanExporter();
    shared = {
      telemetry: Telemetry.start(config, { spanExporter: spans, instanceId: 'test-instance' }),
      spans,
    };
  }
  return shared;
}

/** The whole app on 127.0.0.1:0 with the given environment (no .env file). */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env }, { envFile: false });
  const { telemetry, spans } = testTelemetry(config);
  const logs = new LogCapture();
  const logger = createRootLogger(config, logs);
  const app = await createApp({ config, telemetry, logger });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    config,
    baseUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    logs,
    spans,
    close: () => app.close(),
  };
}
