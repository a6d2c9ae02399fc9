import { DomainError } from '../../common/errors';
import {
  CallAutomation,
  type AnswerCallRequest,
  type CallConnectionResult,
  type CreateCallRequest,
  type PlayTextRequest,
  type RecognizeDtmfRequest,
} from '../ports/call-automation.port';

/** Prefix of the ids of calls that never touched ACS (a browser or CLI talking to the media socket). */
export const LOCAL_CALL_PREFIX = 'local-';

/**
 * Driver 'local': no ACS, so nothing reaches the phone network. Every operation that needs it rejects
 * with NOT_AVAILABLE. Hanging up a local call resolves: the owner of its media socket closes the socket,
 * so there is nothing to tell a provider.
 */
export class LocalCallAutomation extends CallAutomation {
  readonly driver = 'local' as const;

  answerCall(_request: AnswerCallRequest, _signal?: AbortSignal): Promise<CallConnectionResult> {
    return unavailable('answerCall');
  }

  rejectCall(
    _incomingCallContext: string,
    _reason: 'none' | 'busy' | 'forbidden',
    _signal?: AbortSignal,
  ): Promise<void> {
    return unavailable('rejectCall');
  }

  createCall(_request: CreateCallRequest, _signal?: AbortSignal): Promise<CallConnectionResult> {
    return unavailable('createCall');
  }

  hangUp(callConnectionId: string, _forEveryone: boolean, _signal?: AbortSignal): Promise<void> {
    if (callConnectionId.startsWith(LOCAL_CALL_PREFIX)) return Promise.resolve();
    return unavailable('hangUp');
  }

  transfer(_callConnectionId: string, _target: string, _signal?: AbortSignal): Promise<void> {
    return unavailable('transfer');
  }

  playText(_callConnectionId: string, _request: PlayTextRequest, _signal?: AbortSignal): Promise<void> {
    return unavailable('playText');
  }

  recognizeDtmf(
    _callConnectionId: string,
    _request: RecognizeDtmfRequest,
    _signal?: AbortSignal,
  ): Promise<void> {
    return unavailable('recognizeDtmf');
  }

  startMediaStreaming(_callConnectionId: string, _signal?: AbortSignal): Promise<void> {
    return unavailable('startMediaStreaming');
  }

  stopMediaStreaming(_callConnectionId: string, _signal?: AbortSignal): Promise<void> {
    return unavailable('stopMediaStreaming');
  }

  startRecording(_serverCallId: string, _signal?: AbortSignal): Promise<{ recordingId: string }> {
    return unavailable('startRecording');
  }
}

function unavailable<T>(operation: string): Promise<T> {
  return Promise.reject(
    new DomainError('NOT_AVAILABLE', `${operation} is not available without ACS (set ACS_CONNECTION_STRING)`),
  );
}
