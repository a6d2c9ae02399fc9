import type { Span } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { StreamingMode } from '../config';
import type { CallSettings } from '../session/session.types';
import type { InboundFrame } from './codec/acs-media-codec';

/** One accepted ACS media socket, as a streaming strategy sees it. */
export interface MediaConnection {
  readonly callConnectionId: string;
  readonly sessionId: string;
  readonly mode: StreamingMode;
  /** The call's stored settings (scenario, direction…); empty for a call call control never saw. */
  readonly settings: CallSettings;
  /** Logger carrying callConnectionId and sessionId. */
  readonly log: Logger;
  /** The call's root span: turn and segment spans go beneath it. */
  readonly span: Span;
  /**
   * Sends one text message; false when the socket is no longer open (the message was not taken). A
   * Buffer holds the message's UTF-8 bytes and belongs to the socket until `onWritten` runs (written
   * or failed); only then may the caller reuse it.
   */
  send(message: string | Buffer, onWritten?: () => void): boolean;
  /** Bytes accepted by `send` but not yet written to the network (back-pressure signal). */
  readonly bufferedAmount: number;
  /** Closes the socket (the handler's `close` follows). */
  close(code: number, reason: string): void;
}

/** A running call in one streaming mode. */
export interface MediaCallHandler {
  /** Every decoded frame, in order. Synchronous and cheap: nothing on the frame path awaits. */
  onFrame(frame: InboundFrame): void;
  /** The socket closed or the call ended: stop all work and release resources. Idempotent. */
  close(reason: string): Promise<void>;
}

/** How calls in one streaming mode are handled. Registered under STREAMING_STRATEGIES. */
export abstract class StreamingModeStrategy {
  abstract readonly mode: StreamingMode;
  abstract start(connection: MediaConnection): Promise<MediaCallHandler>;
}

export const STREAMING_STRATEGIES = Symbol('STREAMING_STRATEGIES');
