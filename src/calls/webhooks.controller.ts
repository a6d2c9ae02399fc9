import { Body, Controller, Headers, HttpCode, Inject, Options, Post, Query, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { AppConfig } from '../config';
import { safeEqual } from '../common/auth/admin-auth.guard';
import { Webhook } from '../common/auth/public.decorator';
import { DomainError } from '../common/errors';
import { ROOT_LOGGER } from '../logging/root-logger.token';
import { CallbackProcessor, type CallbackReceipt } from './callback-processor';
import { CallbackQuery, EventGridQuery } from './calls.dto';
import { CallsService, type IncomingOutcome } from './calls.service';
import { parseEventGridDelivery } from './incoming/event-grid';
import { AcsJwtVerifier } from './security/acs-jwt-verifier';
import { CallbackSigner } from './security/callback-signer';

const reasons = (rejected: Array<{ index: number; reason: string }>) =>
  rejected.map((r) => `#${r.index} ${r.reason}`).join('; ');

/** Most events one POST may carry (ACS and Event Grid send a handful). */
const MAX_BATCH = 100;

/**
 * ACS and Event Grid webhooks. They are exempt from the admin key and authenticate by their own means:
 * Event Grid by the `code` query secret, ACS callbacks by the ACS-signed JWT and the per-call token.
 */
@ApiTags('webhooks')
@Controller('api/v1/calls')
export class WebhooksController {
  private readonly log: Logger;

  constructor(
    private readonly config: AppConfig,
    private readonly calls: CallsService,
    private readonly processor: CallbackProcessor,
    private readonly jwt: AcsJwtVerifier,
    private readonly signer: CallbackSigner,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ module: 'webhooks' });
  }

  @Options('incoming')
  @Webhook()
  @HttpCode(200)
  @ApiOperation({ summary: 'CloudEvents webhook validation handshake (WebHook-Request-Origin).' })
  handshake(
    @Query() query: EventGridQuery,
    @Headers('webhook-request-origin') origin: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): void {
    this.checkEventGridCode(query.code);
    if (!origin) throw new DomainError('BAD_REQUEST', 'missing WebHook-Request-Origin header');
    void reply.header('WebHook-Allowed-Origin', origin).header('WebHook-Allowed-Rate', '*');
  }

  @Post('incoming')
  @Webhook()
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Event Grid: answers the SubscriptionValidation handshake and every IncomingCall of the batch (Event Grid or CloudEvents schema).',
  })
  @ApiOkResponse({
    schema: {
      example: {
        results: [{ eventId: 'e1', status: 'answered', callConnectionId: '401f…', sessionId: '3f1c…' }],
        ignored: [],
        rejected: [],
      },
    },
  })
  @ApiBadRequestResponse({ description: 'Not an Event Grid delivery (problem+json naming the problem)' })
  @ApiUnauthorizedResponse({ description: 'Wrong or missing `code` (when EVENTGRID_SECRET is set)' })
  async incoming(@Query() query: EventGridQuery, @Body() body: unknown) {
    this.checkEventGridCode(query.code);
    const delivery = parseEventGridDelivery(body);
    if ('invalid' in delivery) throw new DomainError('BAD_REQUEST', delivery.invalid);
    if (delivery.incoming.length > MAX_BATCH)
      throw new DomainError('PAYLOAD_TOO_LARGE', `at most ${MAX_BATCH} events per delivery`);
    if (delivery.validationCode !== undefined) {
      this.log.info('Event Grid subscription validated');
      return { validationResponse: delivery.validationCode };
    }
    if (delivery.rejected.length > 0)
      this.log.warn({ rejected: delivery.rejected }, 'invalid Event Grid events rejected');
    if (delivery.incoming.length === 0 && delivery.ignored.length === 0) {
      throw new DomainError('BAD_REQUEST', `no valid event: ${reasons(delivery.rejected)}`, {
        errors: delivery.rejected,
      });
    }
    const results: IncomingOutcome[] = await Promise.all(
      delivery.incoming.map((c) => this.calls.answerIncoming(c)),
    );
    return { results, ignored: delivery.ignored, rejected: delivery.rejected };
  }

  @Post('callbacks')
  @Webhook()
  @HttpCode(200)
  @ApiOperation({
    summary:
      'ACS Call Automation callbacks (CloudEvents array). Acknowledged at once, handled asynchronously, duplicates dropped.',
  })
  @ApiOkResponse({ schema: { example: { accepted: 2, duplicates: 0, unknown: 1, rejected: [] } } })
  @ApiBadRequestResponse({ description: 'Not a CloudEvents array, or no valid element (reasons listed)' })
  @ApiUnauthorizedResponse({ description: 'Missing/invalid ACS JWT, or wrong per-call token' })
  async callbacks(
    @Query() query: CallbackQuery,
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
  ): Promise<CallbackReceipt> {
    await this.jwt.verify(authorization);
    if (!this.signer.verify(query.session, query.token)) {
      throw new DomainError('UNAUTHORIZED', 'callback token missing or invalid for this session');
    }
    const elements = Array.isArray(body)
      ? body
      : typeof body === 'object' && body !== null
        ? [body]
        : undefined;
    if (!elements || elements.length === 0)
      throw new DomainError('BAD_REQUEST', 'body must be a non-empty array of ACS CloudEvents');
    if (elements.length > MAX_BATCH)
      throw new DomainError('PAYLOAD_TOO_LARGE', `at most ${MAX_BATCH} events per callback`);
    const receipt = await this.processor.accept(elements, query.session);
    if (receipt.rejected.length === elements.length) {
      throw new DomainError('BAD_REQUEST', `no valid event: ${reasons(receipt.rejected)}`, {
        errors: receipt.rejected,
      });
    }
    return receipt;
  }

  private checkEventGridCode(code: string | undefined): void {
    const secret = this.config.acs.eventGridSecret;
    if (secret && !(code && safeEqual(code, secret))) {
      throw new DomainError('UNAUTHORIZED', 'missing or wrong Event Grid code');
    }
  }
}
