import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { metrics } from '@opentelemetry/api';
import { Logger, PinoLogger } from 'nestjs-pino';
import { AppModule, type AppDependencies } from './app.module';
import { DomainError } from './common/errors';
import { VoxlineWsAdapter } from './common/ws/voxline-ws.adapter';
import { WsUpgradePolicies } from './common/ws/ws-upgrade-policies';
import { ProblemDetailsFilter } from './common/problem.filter';
import { VERSION } from './common/version';
import { serverSpanOf, tracedServerFactory } from './telemetry/http-tracing';

/** Largest JSON body accepted (ACS callback batches are far smaller). */
export const BODY_LIMIT_BYTES = 1024 * 1024;
const REQUEST_ID = /^[\w.:-]{1,128}$/;

function validationMessages(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    return [...Object.values(e.constraints ?? {}), ...validationMessages(e.children ?? [], path)].map((m) =>
      m.startsWith(e.property) || m.startsWith(path) ? m : `${path}: ${m}`,
    );
  });
}

/**
 * Builds the Nest application on Fastify with everything the service needs (used by `voxline serve`
 * and by the e2e tests, so both run the same wiring).
 */
export async function createApp(deps: AppDependencies): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    serverFactory: tracedServerFactory,
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: true,
    return503OnClosing: true,
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      (req as IncomingMessage & { id?: string }).id = id; // shared with the pino-http request log
      return id;
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(deps), adapter, {
    bufferLogs: true,
    abortOnError: false,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  app.useWebSocketAdapter(new VoxlineWsAdapter(app, app.get(WsUpgradePolicies)));
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) => {
        const messages = validationMessages(errors);
        return new DomainError('VALIDATION_FAILED', messages.join('; '), { errors: messages });
      },
    }),
  );
  app.useGlobalFilters(new ProblemDetailsFilter(await app.resolve(PinoLogger)));

  const fastify = app.getHttpAdapter().getInstance();
  // Our own JSON parser (Nest's is off): its errors become MALFORMED_JSON problems instead of generic
  // 400s, and it also serves the CloudEvents media types Event Grid / ACS deliveries may use. No other
  // body type is parsed (text/plain included): anything else is 415.
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('text/plain');
  fastify.addContentTypeParser(
    ['application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json'],
    { parseAs: 'string' },
    (request, body, done) =>
      parseJson(request, body as string, (err, value) =>
        err
          ? done(
              new DomainError('MALFORMED_JSON', err.message.replace(/ but content-type .*$/i, '')),
              undefined,
            )
          : done(null, value),
      ),
  );
  const requestDuration = metrics
    .getMeter('voxline')
    .createHistogram('voxline_http_server_duration_ms', { description: 'HTTP request duration', unit: 'ms' });
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  fastify.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const span = serverSpanOf(request.raw);
    if (span) {
      span.updateName(`${request.method} ${route}`);
      span.setAttribute('http.route', route);
    }
    requestDuration.record(reply.elapsedTime, {
      method: request.method,
      route,
      status: String(reply.statusCode),
    });
  });
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('voxline')
      .setDescription(
        'AI voice agents on the phone through Azure Communication Services: admin, call control and webhook API.',
      )
      .setVersion(VERSION)
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'ADMIN_API_KEY (when configured)' })
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', yamlDocumentUrl: 'docs-yaml' });
  return app;
}
