import pino from 'pino';
import { Writable } from 'node:stream';
import { CallLeases, CALL_SETUP_TIMEOUT_MS, MEDIA_HANDOVER_MS } from '../../../src/calls/call-leases';
import { CallRegistry, type CallRecord } from '../../../src/calls/call-registry';
import { CallEventBus } from '../../../src/calls/events/call-event-bus';
import { parseCallbackElement, type CallEvent } from '../../../src/calls/events/call-events';
import {
  APOLOGY_TEXT,
  CallEventHandlers,
  GOODBYE_CONTEXT,
} from '../../../src/calls/handlers/call-event-handlers';
import {
  CallAutomation,
  type AnswerCallRequest,
  type CallConnectionResult,
  type CreateCallRequest,
  type PlayTextRequest,
  type RecognizeDtmfRequest,
} from '../../../src/calls/ports/call-automation.port';
import { loadConfig } from '../../../src/config';
import { ReadinessRegistry } from '../../../src/health/readiness.registry';
import { CallAdmission } from '../../../src/lifecycle/call-admission.service';
import { MemorySessionStore } from '../../../src/session/memory-session-store';
import { SessionWriteQueue } from '../../../src/session/session-write-queue';
import { callbackEvent } from '../../support/acs-events';

type Operation = keyof Omit<CallAutomation, 'driver'>;

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Records every operation; an operation can be told to fail or to wait for a gate first. */
class RecordingCallAutomation extends CallAutomation {
  readonly driver = 'acs' as const;
  readonly calls: Array<{ op: Operation; args: unknown[] }> = [];
  /** Operations in the order they finished. */
  readonly finished: Operation[] = [];
  private readonly failures = new Map<Operation, Error>();
  private readonly gates = new Map<Operation, Promise<void>>();

  fail(op: Operation, error = new Error(`${op} failed`)): void {
    this.failures.set(op, error);
  }

  /** The operation waits until the returned deferred is resolved. */
  hold(op: Operation): Deferred {
    const gate = deferred();
    this.gates.set(op, gate.promise);
    return gate;
  }

  callsOf(op: Operation): unknown[][] {
    return this.calls.filter((c) => c.op === op).map((c) => c.args);
  }

  private async run(op: Operation, args: unknown[]): Promise<void> {
    this.calls.push({ op, args });
    await this.gates.get(op);
    const failure = this.failures.get(op);
    if (failure) throw failure;
    this.finished.push(op);
  }

  async answerCall(request: AnswerCallRequest): Promise<CallConnectionResult> {
    await this.run('answerCall', [request]);
    return { callConnectionId: 'answered-1' };
  }
  async rejectCall(incomingCallContext: string, reason: 'none' | 'busy' | 'forbidden'): Promise<void> {
    await this.run('rejectCall', [incomingCallContext, reason]);
  }
  async createCall(request: CreateCallRequest): Promise<CallConnectionResult> {
    await this.run('createCall', [request]);
    return { callConnectionId: 'created-1' };
  }
  async hangUp(callConnectionId: string, forEveryone: boolean): Promise<void> {
    await this.run('hangUp', [callConnectionId, forEveryone]);
  }
  async transfer(callConnectionId: string, target: string): Promise<void> {
    await this.run('transfer', [callConnectionId, target]);
  }
  async playText(callConnectionId: string, request: PlayTextRequest): Promise<void> {
    await this.run('playText', [callConnectionId, request]);
  }
  async recognizeDtmf(callConnectionId: string, request: RecognizeDtmfRequest): Promise<void> {
    await this.run('recognizeDtmf', [callConnectionId, request]);
  }
  async startMediaStreaming(callConnectionId: string): Promise<void> {
    await this.run('startMediaStreaming', [callConnectionId]);
  }
  async stopMediaStreaming(callConnectionId: string): Promise<void> {
    await this.run('stopMediaStreaming', [callConnectionId]);
  }
  async startRecording(serverCallId: string): Promise<{ recordingId: string }> {
    await this.run('startRecording', [serverCallId]);
    return { recordingId: `rec-${serverCallId}` };
  }
}

const CALL = 'call-1';
const SESSION = 'sess-1';

interface SetupOptions {
  policy?: 'retry' | 'hangup';
  recordCalls?: boolean;
}

function setup(options: SetupOptions = {}) {
  const config = loadConfig(
    {
      MEDIA_STREAMING_FAILURE_POLICY: options.policy ?? 'retry',
      RECORD_CALLS: String(options.recordCalls ?? false),
      MAX_CONCURRENT_CALLS: '5',
    },
    { envFile: false },
  );
  const store = new MemorySessionStore(600);
  const queue = new SessionWriteQueue(store, pino({ level: 'silent' }), { maxPending: 100 });
  const bus = new CallEventBus();
  const registry = new CallRegistry(store);
  const admission = new CallAdmission(config, new ReadinessRegistry());
  admission.onModuleInit();
  const leases = new CallLeases(admission);
  const automation = new RecordingCallAutomation();
  const lines: Array<Record<string, unknown>> = [];
  const root = pino(
    { level: 'debug' },
    new Writable({ write: (c: Buffer, _e, cb) => (lines.push(JSON.parse(c.toString())), cb()) }),
  );
  const handlers = new CallEventHandlers(config, automation, registry, leases, queue, bus, root);
  const published: CallEvent[] = [];
  bus.on('*', (e) => void published.push(e));

  /** A call answered by this replica: session, call record, and its lease (as the incoming route does). */
  async function answeredCall(record: Partial<CallRecord> = {}, callId = CALL, sessionId = SESSION) {
    await store.create({ id: sessionId, callConnectionId: callId, scenario: 'support' });
    await registry.create({
      callConnectionId: callId,
      sessionId,
      direction: 'inbound',
      status: 'connecting',
      scenario: 'support',
      streamingMode: 'media',
      record: false,
      startedAt: '2026-11-21T10:00:00.000Z',
      ...record,
    });
    leases.acquire(sessionId);
  }

  async function close() {
    await handlers.drain(1000);
    await queue.flush(1000);
    queue.close();
    leases.onModuleDestroy();
    await store.close();
  }

  return {
    config,
    store,
    queue,
    bus,
    registry,
    admission,
    leases,
    automation,
    handlers,
    published,
    lines,
    answeredCall,
    close,
  };
}

type Setup = ReturnType<typeof setup>;

/** An ACS callback event for `callId`, parsed as the callback route does. */
function acsEvent(type: string, data: Record<string, unknown> = {}, callId = CALL): CallEvent {
  const parsed = parseCallbackElement(callbackEvent(type, callId, data));
  if (!parsed.ok) throw new Error(`bad test event: ${parsed.reason}`);
  return parsed.event;
}

/** Lets pending promise callbacks and I/O-free timers run. */
const settle = (ms = 20) => new Promise((r) => setTimeout(r, ms));

describe('CallEventHandlers', () => {
  let t: Setup;

  afterEach(async () => {
    jest.useRealTimers();
    await t?.close();
  });

  describe('CallConnected', () => {
    it('marks the call connected and keeps its slot', async () => {
      t = setup();
      await t.answeredCall();
      const connected = acsEvent('CallConnected');
      await t.handlers.handle(connected);

      const call = await t.registry.get(CALL);
      expect(call).toMatchObject({
        status: 'connected',
        connectedAt: connected.time,
        serverCallId: `server-${CALL}`,
      });
      expect(t.admission.activeCount).toBe(1);
      expect(t.leases.size).toBe(1);
      await t.queue.flush(1000);
      expect(await t.store.get(SESSION)).toMatchObject({ state: 'active', callConnectionId: CALL });
    });

    it('hands the slot to the media socket after CallConnected; a call that never connects gives it back later', async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
      t = setup();
      await t.answeredCall();
      await t.answeredCall({}, 'call-2', 'sess-2');
      expect(t.admission.activeCount).toBe(2);

      await t.handlers.handle(acsEvent('CallConnected'));
      // The call's media socket takes its own lease on the same slot.
      const media = t.admission.admit(SESSION);

      jest.advanceTimersByTime(MEDIA_HANDOVER_MS - 1);
      expect(t.leases.size).toBe(2);
      jest.advanceTimersByTime(1);
      // The control lease of the connected call is returned; the media lease keeps its slot.
      expect(t.leases.size).toBe(1);
      expect(t.admission.activeCount).toBe(2);

      jest.advanceTimersByTime(CALL_SETUP_TIMEOUT_MS - MEDIA_HANDOVER_MS);
      // sess-2 never heard CallConnected: its slot came back after the setup timeout.
      expect(t.leases.size).toBe(0);
      expect(t.admission.activeCount).toBe(1);
      media.release();
      expect(t.admission.activeCount).toBe(0);
      jest.useRealTimers();
    });

    it('starts a recording when the call is to be recorded, and stores the recording id', async () => {
      t = setup();
      await t.answeredCall({ record: true });
      await t.handlers.handle(acsEvent('CallConnected'));

      expect(t.automation.callsOf('startRecording')).toEqual([[`server-${CALL}`]]);
      expect(await t.registry.get(CALL)).toMatchObject({
        status: 'connected',
        recordingId: `rec-server-${CALL}`,
      });
    });

    it('does not record a call whose record flag is false', async () => {
      t = setup({ recordCalls: true });
      await t.answeredCall({ record: false });
      await t.handlers.handle(acsEvent('CallConnected'));

      expect(t.automation.callsOf('startRecording')).toEqual([]);
      expect((await t.registry.get(CALL))?.recordingId).toBeUndefined();
    });

    it('logs a recording that cannot start and marks it failed, without failing the handler', async () => {
      t = setup();
      await t.answeredCall({ record: true });
      t.automation.fail('startRecording', new Error('recording quota exceeded'));

      await expect(t.handlers.handle(acsEvent('CallConnected'))).resolves.toBeUndefined();

      const call = await t.registry.get(CALL);
      expect(call).toMatchObject({ status: 'connected', recordingState: 'failed' });
      expect(call?.recordingId).toBeUndefined();
      const logged = t.lines.find((l) => l.msg === 'recording could not be started');
      expect(logged).toMatchObject({
        level: 50,
        sessionId: SESSION,
        err: expect.objectContaining({ message: 'recording quota exceeded' }),
      });
      expect(t.published.map((e) => e.type)).toEqual(['CallConnected']);
    });
  });

  describe('CallDisconnected', () => {
    it('ends the call, returns its slot, and ends the session with a system history entry', async () => {
      t = setup();
      await t.answeredCall();
      await t.handlers.handle(acsEvent('CallConnected'));
      const disconnected = acsEvent('CallDisconnected');
      await t.handlers.handle(disconnected);

      expect(await t.registry.get(CALL)).toMatchObject({ status: 'ended', endedAt: disconnected.time });
      expect(t.admission.activeCount).toBe(0);
      expect(t.leases.size).toBe(0);

      expect(await t.queue.flush(1000)).toBe(true);
      const session = await t.store.get(SESSION);
      expect(session).toMatchObject({ state: 'ended', endedAt: disconnected.time });
      expect(session?.history).toEqual([
        { role: 'system', text: 'call disconnected', at: disconnected.time },
      ]);
    });

    it('keeps the status of a transferred call when it disconnects', async () => {
      t = setup();
      await t.answeredCall();
      await t.handlers.handle(acsEvent('CallConnected'));
      await t.handlers.handle(acsEvent('CallTransferAccepted'));
      await t.handlers.handle(acsEvent('CallDisconnected'));

      expect((await t.registry.get(CALL))?.status).toBe('transferred');
      await t.queue.flush(1000);
      expect((await t.store.get(SESSION))?.history.map((h) => h.text)).toEqual([
        'call transferred',
        'call disconnected',
      ]);
    });
  });

  describe.each(['CreateCallFailed', 'AnswerFailed'])('%s', (type) => {
    it('fails the call with the ACS result message and code, and returns its slot', async () => {
      t = setup();
      await t.answeredCall();
      const failed = acsEvent(type, {
        resultInformation: { code: 408, subCode: 8508, message: 'Action failed, the call was not answered.' },
      });
      await t.handlers.handle(failed);

      const call = await t.registry.get(CALL);
      expect(call).toMatchObject({ status: 'failed', endedAt: failed.time });
      expect(call?.endReason).toContain('Action failed, the call was not answered.');
      expect(call?.endReason).toContain('408');
      expect(call?.endReason).toContain('8508');
      expect(t.admission.activeCount).toBe(0);

      await t.queue.flush(1000);
      const session = await t.store.get(SESSION);
      expect(session?.state).toBe('ended');
      expect(session?.history).toEqual([
        expect.objectContaining({ role: 'system', text: expect.stringContaining('408') }),
      ]);
    });
  });

  it('handles the events of one call in arrival order, even when an earlier handler is slow', async () => {
    t = setup();
    await t.answeredCall({ record: true });
    const recording = t.automation.hold('startRecording');
    const order: string[] = [];
    t.bus.on('*', async (e) => {
      const call = await t.registry.get(e.callConnectionId);
      order.push(`${e.type}:${call?.status}`);
    });

    const connected = t.handlers.handle(acsEvent('CallConnected'));
    const disconnected = t.handlers.handle(acsEvent('CallDisconnected'));
    await settle();

    // CallConnected is waiting for the recording: the disconnection has not been handled yet.
    expect(t.automation.callsOf('startRecording')).toHaveLength(1);
    expect((await t.registry.get(CALL))?.status).toBe('connected');
    expect(t.admission.activeCount).toBe(1);
    expect(order).toEqual([]);

    recording.resolve();
    await Promise.all([connected, disconnected]);

    expect(order).toEqual(['CallConnected:connected', 'CallDisconnected:ended']);
    const call = await t.registry.get(CALL);
    expect(call).toMatchObject({ status: 'ended', recordingId: `rec-server-${CALL}` });
    expect(t.admission.activeCount).toBe(0);
  });

  it('does not hold up the events of another call behind a slow one', async () => {
    t = setup();
    await t.answeredCall({ record: true });
    await t.answeredCall({}, 'call-2', 'sess-2');
    const recording = t.automation.hold('startRecording');

    const slow = t.handlers.handle(acsEvent('CallConnected'));
    await t.handlers.handle(acsEvent('CallDisconnected', {}, 'call-2'));
    expect((await t.registry.get('call-2'))?.status).toBe('ended');
    expect(t.published.map((e) => `${e.callConnectionId}:${e.type}`)).toEqual(['call-2:CallDisconnected']);

    recording.resolve();
    await slow;
  });

  it('publishes every handled event on the bus with the session id of the call', async () => {
    t = setup();
    await t.answeredCall();
    const events = [
      acsEvent('CallConnected'),
      acsEvent('ParticipantsUpdated', { participants: [{}, {}] }),
      acsEvent('PlayStarted'),
      acsEvent('PlayCompleted'),
      acsEvent('RecognizeCompleted', { dtmfResult: { tones: ['one'] } }),
      acsEvent('RecordingStateChanged', { state: 'active', recordingId: 'rec-7' }),
      acsEvent('CallDisconnected'),
    ];
    for (const e of events) expect(e.sessionId).toBeUndefined();
    for (const e of events) await t.handlers.handle(e);

    expect(t.published.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(t.published.map((e) => e.sessionId)).toEqual(events.map(() => SESSION));
    expect(await t.registry.get(CALL)).toMatchObject({
      participants: 2,
      recordingState: 'active',
      recordingId: 'rec-7',
    });
  });

  it('publishes an event of an unknown call with the session hint of its callback URL', async () => {
    t = setup();
    const hinted = { ...acsEvent('CallConnected', {}, 'call-elsewhere'), sessionId: 'sess-hint' };
    await t.handlers.handle(hinted);
    await t.handlers.handle(acsEvent('PlayStarted', {}, 'call-nobody'));

    expect(t.published.map((e) => [e.callConnectionId, e.sessionId])).toEqual([
      ['call-elsewhere', 'sess-hint'],
      ['call-nobody', undefined],
    ]);
    expect(await t.registry.get('call-elsewhere')).toBeUndefined();
  });

  it('ignores continuous DTMF tones (the media stream carries the digits), counting them', async () => {
    t = setup();
    await t.answeredCall();
    await t.handlers.handle(acsEvent('ContinuousDtmfRecognitionToneReceived', { tone: 'five' }));
    await t.handlers.handle(acsEvent('ContinuousDtmfRecognitionToneReceived', { tone: 'six' }));

    expect(t.handlers.counters.dtmfIgnored).toBe(2);
    expect(t.automation.calls).toEqual([]);
    expect(t.published).toHaveLength(2);
  });

  describe('MediaStreamingFailed', () => {
    const mediaFailed = () =>
      acsEvent('MediaStreamingFailed', {
        resultInformation: { code: 500, subCode: 8583, message: 'media streaming failed' },
      });
    const playCompleted = (operationContext = GOODBYE_CONTEXT) =>
      acsEvent('PlayCompleted', { operationContext });

    it('with the retry policy, restarts media streaming once', async () => {
      t = setup({ policy: 'retry' });
      await t.answeredCall();
      await t.handlers.handle(mediaFailed());

      expect(t.automation.callsOf('startMediaStreaming')).toEqual([[CALL]]);
      expect((await t.registry.get(CALL))?.mediaRetries).toBe(1);
      expect(t.handlers.counters.mediaRetries).toBe(1);
      expect(t.automation.callsOf('playText')).toEqual([]);
      expect(t.automation.callsOf('hangUp')).toEqual([]);
    });

    it('after the retry, apologises and hangs up for everyone once the apology has played', async () => {
      t = setup({ policy: 'retry' });
      await t.answeredCall();
      await t.handlers.handle(mediaFailed());
      await t.handlers.handle(mediaFailed());

      expect(t.automation.callsOf('startMediaStreaming')).toHaveLength(1);
      expect(t.automation.callsOf('playText')).toEqual([
        [CALL, { text: APOLOGY_TEXT, operationContext: GOODBYE_CONTEXT }],
      ]);
      expect(t.handlers.counters.politeHangups).toBe(1);

      // Still playing: a PlayCompleted of another operation does not end the call.
      await t.handlers.handle(playCompleted('voxline:something-else'));
      await settle();
      expect(t.automation.callsOf('hangUp')).toEqual([]);

      await t.handlers.handle(playCompleted());
      await t.handlers.drain(1000);
      expect(t.automation.callsOf('hangUp')).toEqual([[CALL, true]]);
      expect(t.automation.finished).toEqual(['startMediaStreaming', 'playText', 'hangUp']);
    });

    it('hangs up politely when the media streaming restart itself fails', async () => {
      t = setup({ policy: 'retry' });
      await t.answeredCall();
      t.automation.fail('startMediaStreaming');
      await t.handlers.handle(mediaFailed());

      expect(t.automation.callsOf('startMediaStreaming')).toHaveLength(1);
      expect(t.automation.callsOf('playText')).toHaveLength(1);
      await t.handlers.handle(playCompleted());
      await t.handlers.drain(1000);
      expect(t.automation.callsOf('hangUp')).toEqual([[CALL, true]]);
    });

    it('with the hangup policy, does not restart streaming and goes straight to the apology and hang-up', async () => {
      t = setup({ policy: 'hangup' });
      await t.answeredCall();
      await t.handlers.handle(mediaFailed());

      expect(t.automation.callsOf('startMediaStreaming')).toEqual([]);
      expect((await t.registry.get(CALL))?.mediaRetries).toBeUndefined();
      expect(t.automation.callsOf('playText')).toEqual([
        [CALL, { text: APOLOGY_TEXT, operationContext: GOODBYE_CONTEXT }],
      ]);

      await t.handlers.handle(acsEvent('PlayFailed', { operationContext: GOODBYE_CONTEXT }));
      await t.handlers.drain(1000);
      expect(t.automation.callsOf('hangUp')).toEqual([[CALL, true]]);
    });

    it('still hangs up when the apology cannot be played', async () => {
      t = setup({ policy: 'hangup' });
      await t.answeredCall();
      t.automation.fail('playText', new Error('play refused'));
      await t.handlers.handle(mediaFailed());
      await t.handlers.drain(1000);

      expect(t.automation.callsOf('hangUp')).toEqual([[CALL, true]]);
      expect(
        t.lines.find((l) => l.msg === 'apology could not be played; hanging up without it'),
      ).toBeDefined();
    });

    it('hangs up after 10 s when no Play event for the apology arrives', async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
      t = setup({ policy: 'hangup' });
      await t.answeredCall();
      await t.handlers.handle(mediaFailed());
      await jest.advanceTimersByTimeAsync(9_999);
      expect(t.automation.callsOf('playText')).toHaveLength(1);
      expect(t.automation.callsOf('hangUp')).toEqual([]);

      await jest.advanceTimersByTimeAsync(1);
      await t.handlers.drain(1000);
      expect(t.automation.callsOf('hangUp')).toEqual([[CALL, true]]);
      jest.useRealTimers();
    });

    it('drain waits for the detached hang-up, or gives up after its timeout', async () => {
      t = setup({ policy: 'hangup' });
      await t.answeredCall();
      t.automation.fail('playText');
      const hangUp = t.automation.hold('hangUp');
      await t.handlers.handle(mediaFailed());

      const started = Date.now();
      await t.handlers.drain(30);
      expect(Date.now() - started).toBeGreaterThanOrEqual(25);
      expect(t.automation.callsOf('hangUp')).toHaveLength(1);
      expect(t.automation.finished).not.toContain('hangUp');

      setTimeout(() => hangUp.resolve(), 30);
      await t.handlers.drain(2000);
      expect(t.automation.finished).toContain('hangUp');
    });

    it('logs a failed hang-up without throwing from the detached work', async () => {
      t = setup({ policy: 'hangup' });
      await t.answeredCall();
      t.automation.fail('playText');
      t.automation.fail('hangUp', new Error('call already gone'));
      await t.handlers.handle(mediaFailed());
      await t.handlers.drain(1000);

      expect(t.automation.callsOf('hangUp')).toEqual([[CALL, true]]);
      expect(t.lines.find((l) => l.msg === 'hang-up after media streaming failure failed')).toMatchObject({
        level: 50,
      });
    });
  });
});
