import { Inject, Injectable } from '@nestjs/common';
import { AppConfig, STREAMING_MODES, type StreamingMode } from '../../config';
import { DomainError } from '../../common/errors';
import { STREAMING_STRATEGIES, StreamingModeStrategy } from '../media-call';

/**
 * Picks the strategy of a call at runtime: the call's stored settings (set at dial-out), else the
 * `streaming_mode` query parameter of the media socket, else STREAMING_MODE.
 */
@Injectable()
export class StreamingModeSelector {
  private readonly byMode: Map<StreamingMode, StreamingModeStrategy>;

  constructor(
    private readonly config: AppConfig,
    @Inject(STREAMING_STRATEGIES) strategies: StreamingModeStrategy[],
  ) {
    this.byMode = new Map(strategies.map((s) => [s.mode, s]));
  }

  modeFor(stored: unknown, query: string | null | undefined): StreamingMode {
    const pick = (v: unknown) => {
      if (typeof v !== 'string' || !v) return undefined;
      const mode = v.toLowerCase();
      if (!(STREAMING_MODES as readonly string[]).includes(mode)) {
        throw new DomainError('BAD_REQUEST', `streaming mode must be one of: ${STREAMING_MODES.join(', ')}`);
      }
      return mode as StreamingMode;
    };
    return pick(stored) ?? pick(query) ?? this.config.media.streamingMode;
  }

  strategy(mode: StreamingMode): StreamingModeStrategy {
    const strategy = this.byMode.get(mode);
    if (!strategy) throw new DomainError('NOT_AVAILABLE', `no handler for streaming mode ${mode}`);
    return strategy;
  }
}
