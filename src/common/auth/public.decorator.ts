import { SetMetadata } from '@nestjs/common';

export const WEBHOOK_KEY = 'voxline:webhook';

/**
 * Marks an /api/v1 route as an ACS / Event Grid webhook: it is authenticated by its own mechanism
 * (ACS JWT, HMAC token, Event Grid code) instead of the admin API key.
 */
export const Webhook = () => SetMetadata(WEBHOOK_KEY, true);
