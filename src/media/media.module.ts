import { Module } from '@nestjs/common';
import { MediaGateway } from './media.gateway';
import { STREAMING_STRATEGIES, type StreamingModeStrategy } from './media-call';
import { MediaStats } from './media-stats';
import { TurnMetricsRecorder } from './turn-metrics';
import { MediaStrategy } from './strategies/media.strategy';
import { StreamingModeSelector } from './strategies/streaming-mode.selector';
import { UnimplementedStrategy } from './strategies/unimplemented.strategy';

/** The ACS media WebSocket and the streaming-mode strategies behind it. */
@Module({
  providers: [
    MediaStats,
    TurnMetricsRecorder,
    MediaStrategy,
    {
      provide: STREAMING_STRATEGIES,
      inject: [MediaStrategy],
      useFactory: (media: MediaStrategy): StreamingModeStrategy[] => [
        media,
        new UnimplementedStrategy('voice_live'),
        new UnimplementedStrategy('transcription'),
      ],
    },
    StreamingModeSelector,
    MediaGateway,
  ],
})
export class MediaModule {}
