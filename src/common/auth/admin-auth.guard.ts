import { timingSafeEqual, createHash } from 'node:crypto';
import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '../../config';
import { DomainError } from '../errors';
import { WEBHOOK_KEY } from './public.decorator';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time string comparison (hashing first makes lengths equal). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * With ADMIN_API_KEY set, every /api/v1 REST route except webhooks requires `Authorization: Bearer <key>`.
 * Probes, metrics and the API docs stay open (they are served outside /api/v1).
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(
    private readonly config: AppConfig,
    private readonly reflector: Reflector,
  ) {}

  canActivate(ctx: ExecutionContext): boolean {
    const key = this.config.server.adminApiKey;
    if (!key || ctx.getType() !== 'http') return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    if (!req.url.startsWith('/api/v1/') && req.url !== '/api/v1') return true;
    if (this.reflector.getAllAndOverride<boolean>(WEBHOOK_KEY, [ctx.getHandler(), ctx.getClass()]))
      return true;
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match)
      throw new DomainError(
        'UNAUTHORIZED',
        'missing bearer token: send Authorization: Bearer <ADMIN_API_KEY>',
      );
    if (!safeEqual(match[1], key)) throw new DomainError('UNAUTHORIZED', 'invalid bearer token');
    return true;
  }
}
