import type { MediaAudioFormat } from '../../config';

/** How ACS streams the call's audio to us (bidirectional, over our media WebSocket). */
export interface MediaStreamingSpec {
  /** wss URL of our media WebSocket (PUBLIC_BASE_URL as wss + /api/v1/media/stream, with query). */
  transportUrl: string;
  audioFormat: MediaAudioFormat;
  startMediaStreaming: boolean;
  enableBidirectional: boolean;
  /** Stream the caller's DTMF tones on the media socket (then the media stream is the digits' source). */
  enableDtmfTones: boolean;
}

export interface AnswerCallRequest {
  incomingCallContext: string;
  callbackUri: string;
  media: MediaStreamingSpec;
  operationContext?: string;
}

export interface CreateCallRequest {
  /** E.164 phone number to dial. */
  targetNumber: string;
  /** E.164 caller id; when absent none is sent (ACS rejects PSTN targets without one). */
  callerId?: string;
  callbackUri: string;
  media: MediaStreamingSpec;
  operationContext?: string;
}

export interface CallConnectionResult {
  callConnectionId: string;
  serverCallId?: string;
  correlationId?: string;
}

export interface PlayTextRequest {
  text: string;
  voiceName?: string;
  operationContext?: string;
}

export interface RecognizeDtmfRequest {
  /** Raw id of the participant whose tones are recognised (e.g. the PSTN caller). */
  targetParticipant: string;
  maxTones: number;
  interToneTimeoutSeconds?: number;
  stopTones?: string[];
  prompt?: string;
  operationContext?: string;
}

/**
 * ACS Call Automation operations the service uses. Every method takes an AbortSignal and rejects with
 * a DomainError (PROVIDER_TIMEOUT, PROVIDER_ERROR with the ACS code, NOT_AVAILABLE without ACS).
 */
export abstract class CallAutomation {
  abstract readonly driver: 'acs' | 'local';
  abstract answerCall(request: AnswerCallRequest, signal?: AbortSignal): Promise<CallConnectionResult>;
  abstract rejectCall(
    incomingCallContext: string,
    reason: 'none' | 'busy' | 'forbidden',
    signal?: AbortSignal,
  ): Promise<void>;
  abstract createCall(request: CreateCallRequest, signal?: AbortSignal): Promise<CallConnectionResult>;
  /** hangUp(forEveryone=false) leaves the call; true terminates it for all participants. */
  abstract hangUp(callConnectionId: string, forEveryone: boolean, signal?: AbortSignal): Promise<void>;
  abstract transfer(callConnectionId: string, target: string, signal?: AbortSignal): Promise<void>;
  abstract playText(callConnectionId: string, request: PlayTextRequest, signal?: AbortSignal): Promise<void>;
  abstract recognizeDtmf(
    callConnectionId: string,
    request: RecognizeDtmfRequest,
    signal?: AbortSignal,
  ): Promise<void>;
  abstract startMediaStreaming(callConnectionId: string, signal?: AbortSignal): Promise<void>;
  abstract stopMediaStreaming(callConnectionId: string, signal?: AbortSignal): Promise<void>;
  abstract startRecording(serverCallId: string, signal?: AbortSignal): Promise<{ recordingId: string }>;
}
