import type { StreamingMode } from '../../config';
import { DomainError } from '../../common/errors';
import { StreamingModeStrategy, type MediaCallHandler } from '../media-call';

/** A registered mode whose handler is not built yet: the socket is closed with the reason. */
export class UnimplementedStrategy extends StreamingModeStrategy {
  constructor(readonly mode: StreamingMode) {
    super();
  }

  start(): Promise<MediaCallHandler> {
    return Promise.reject(
      new DomainError(
        'NOT_AVAILABLE',
        `streaming mode ${this.mode} is not implemented yet; use media (STREAMING_MODE or ?streaming_mode=media)`,
      ),
    );
  }
}
