import { LocalCallAutomation } from '../../../src/calls/automation/local-call-automation';
import type { MediaStreamingSpec } from '../../../src/calls/ports';

const MEDIA: MediaStreamingSpec = {
  transportUrl: 'ws://127.0.0.1:3000/api/v1/media/stream',
  audioFormat: 'pcm16KMono',
  startMediaStreaming: true,
  enableBidirectional: true,
  enableDtmfTones: true,
};

describe('LocalCallAutomation (no ACS)', () => {
  const local = new LocalCallAutomation();

  it('reports the local driver', () => {
    expect(local.driver).toBe('local');
  });

  it('rejects every phone-network operation with NOT_AVAILABLE naming the operation and the setting', async () => {
    const attempts: [string, Promise<unknown>][] = [
      ['answerCall', local.answerCall({ incomingCallContext: 'c', callbackUri: 'http://x', media: MEDIA })],
      ['rejectCall', local.rejectCall('c', 'busy')],
      [
        'createCall',
        local.createCall({ targetNumber: '+15551230001', callbackUri: 'http://x', media: MEDIA }),
      ],
      ['hangUp', local.hangUp('acs-call-1', true)],
      ['transfer', local.transfer('local-1', '+15551230001')],
      ['playText', local.playText('local-1', { text: 'hi' })],
      ['recognizeDtmf', local.recognizeDtmf('local-1', { targetParticipant: '+15551230001', maxTones: 1 })],
      ['startMediaStreaming', local.startMediaStreaming('local-1')],
      ['stopMediaStreaming', local.stopMediaStreaming('local-1')],
      ['startRecording', local.startRecording('server-1')],
    ];
    for (const [operation, attempt] of attempts) {
      await expect(attempt).rejects.toMatchObject({
        code: 'NOT_AVAILABLE',
        message: `${operation} is not available without ACS (set ACS_CONNECTION_STRING)`,
      });
    }
  });

  it('hangs up a local call without ACS (its media socket owner closes it)', async () => {
    await expect(local.hangUp('local-123', false)).resolves.toBeUndefined();
    await expect(local.hangUp('local-123', true)).resolves.toBeUndefined();
  });
});
