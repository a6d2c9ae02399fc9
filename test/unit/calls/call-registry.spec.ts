import { CallRegistry, type CallPatch, type CallRecord } from '../../../src/calls/call-registry';
import { MemorySessionStore } from '../../../src/session/memory-session-store';
import type { CallMapping, CallSettings } from '../../../src/session/session.types';

const T0 = Date.parse('2026-11-21T10:00:00Z');

/** A clock that moves 1 ms every time it is read, so session creation times are distinct. */
function ticking(start = T0) {
  let t = start;
  return () => t++;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The memory store answers in the same microtask; this one takes a few random milliseconds per read and
 * write, like a network store, so read-modify-write races would show.
 */
class SlowStore extends MemorySessionStore {
  writes = 0;
  failNextWrite = false;

  override async findCall(callConnectionId: string): Promise<CallMapping | undefined> {
    await sleep(Math.random() * 3);
    return super.findCall(callConnectionId);
  }

  override async mapCall(
    callConnectionId: string,
    sessionId: string,
    settings?: CallSettings,
  ): Promise<void> {
    await sleep(Math.random() * 3);
    if (this.failNextWrite) {
      this.failNextWrite = false;
      throw new Error('store unreachable');
    }
    this.writes++;
    return super.mapCall(callConnectionId, sessionId, settings);
  }
}

function call(callConnectionId: string, sessionId: string, extra: Partial<CallRecord> = {}): CallRecord {
  return {
    callConnectionId,
    sessionId,
    direction: 'inbound',
    status: 'connecting',
    scenario: 'support',
    streamingMode: 'media',
    record: false,
    from: '+14255550100',
    to: '+18005550123',
    startedAt: '2026-11-21T10:00:00.000Z',
    ...extra,
  };
}

describe('CallRegistry', () => {
  let store: MemorySessionStore;

  afterEach(async () => {
    await store.close();
  });

  it('returns a created call as it was stored', async () => {
    store = new MemorySessionStore(600);
    const registry = new CallRegistry(store);
    const record = call('call-1', 'sess-1', { direction: 'outbound', record: true, serverCallId: 'srv-1' });
    await registry.create(record);
    expect(await registry.get('call-1')).toEqual(record);
    expect(await registry.get('call-unknown')).toBeUndefined();
    // Kept on the call↔session mapping, so any replica finds the session through it.
    expect(await store.findCall('call-1')).toMatchObject({ callConnectionId: 'call-1', sessionId: 'sess-1' });
  });

  it('reads a mapping written without call-control settings as an inbound media call', async () => {
    store = new MemorySessionStore(600);
    const registry = new CallRegistry(store);
    await store.mapCall('local-1', 'sess-local');
    expect(await registry.get('local-1')).toEqual({
      callConnectionId: 'local-1',
      sessionId: 'sess-local',
      direction: 'inbound',
      status: 'connected',
      scenario: '',
      streamingMode: 'media',
      record: false,
      startedAt: '',
    });
  });

  it('merges a patch into the stored call and returns the updated record', async () => {
    store = new MemorySessionStore(600);
    const registry = new CallRegistry(store);
    await registry.create(call('call-1', 'sess-1'));
    const updated = await registry.patch('call-1', {
      status: 'connected',
      connectedAt: '2026-11-21T10:00:05.000Z',
    });
    const expected = {
      ...call('call-1', 'sess-1'),
      status: 'connected',
      connectedAt: '2026-11-21T10:00:05.000Z',
    };
    expect(updated).toEqual(expected);
    expect(await registry.get('call-1')).toEqual(expected);
  });

  it('resolves undefined when patching a call it has no record of, and stores nothing', async () => {
    store = new MemorySessionStore(600);
    const registry = new CallRegistry(store);
    expect(await registry.patch('call-unknown', { status: 'ended' })).toBeUndefined();
    expect(await store.findCall('call-unknown')).toBeUndefined();
  });

  it('applies 20 concurrent patches of one call without losing any of them', async () => {
    store = new SlowStore(600);
    const registry = new CallRegistry(store);
    await registry.create(call('call-1', 'sess-1'));
    // Each patch sets its own field (stored settings take any key), so a lost update would lose a field.
    const fields = Array.from({ length: 20 }, (_, i) => `field${i}`);
    const results = await Promise.all(
      fields.map((f, i) => registry.patch('call-1', { [f]: i } as CallPatch)),
    );

    const stored = (await registry.get('call-1')) as unknown as Record<string, unknown>;
    for (const [i, f] of fields.entries()) expect(stored[f]).toBe(i);
    // Serialised in call order: the n-th result already includes the n-1 patches before it.
    const last = results[19] as unknown as Record<string, unknown>;
    expect(fields.every((f) => f in last)).toBe(true);
    const firstResult = results[0] as unknown as Record<string, unknown>;
    expect(Object.keys(firstResult).filter((k) => k.startsWith('field'))).toEqual(['field0']);
    expect((store as SlowStore).writes).toBe(21);
  });

  it('applies concurrent patches of the real call fields together (status, media retries, recording)', async () => {
    store = new SlowStore(600);
    const registry = new CallRegistry(store);
    await registry.create(call('call-1', 'sess-1'));
    await Promise.all([
      registry.patch('call-1', { status: 'connected' }),
      registry.patch('call-1', { serverCallId: 'srv-9' }),
      registry.patch('call-1', { recordingId: 'rec-1' }),
      registry.patch('call-1', { participants: 2 }),
      registry.patch('call-1', { mediaRetries: 1 }),
      registry.patch('call-1', { recordingState: 'active' }),
    ]);
    expect(await registry.get('call-1')).toEqual({
      ...call('call-1', 'sess-1'),
      status: 'connected',
      serverCallId: 'srv-9',
      recordingId: 'rec-1',
      participants: 2,
      mediaRetries: 1,
      recordingState: 'active',
    });
  });

  it('keeps serving later patches of a call after one write fails', async () => {
    const slow = new SlowStore(600);
    store = slow;
    const registry = new CallRegistry(store);
    await registry.create(call('call-1', 'sess-1'));
    slow.failNextWrite = true;
    const failing = registry.patch('call-1', { participants: 3 });
    const next = registry.patch('call-1', { status: 'connected' });
    await expect(failing).rejects.toThrow('store unreachable');
    await expect(next).resolves.toMatchObject({ status: 'connected' });
    const stored = await registry.get('call-1');
    expect(stored).toMatchObject({ status: 'connected' });
    expect(stored?.participants).toBeUndefined();
  });

  it('lists only connecting and connected calls of active sessions, most recent first', async () => {
    store = new MemorySessionStore(600, ticking());
    const registry = new CallRegistry(store);
    const add = async (sessionId: string, callId: string | undefined, status: CallRecord['status']) => {
      await store.create({ id: sessionId, callConnectionId: callId });
      if (callId) await registry.create(call(callId, sessionId, { status }));
    };
    await add('s-connected', 'c-connected', 'connected');
    await add('s-connecting', 'c-connecting', 'connecting');
    await add('s-ended-call', 'c-ended', 'ended');
    await add('s-failed-call', 'c-failed', 'failed');
    await add('s-transferred', 'c-transferred', 'transferred');
    await add('s-no-call', undefined, 'connected');
    await add('s-closed', 'c-stale', 'connected');
    await store.update('s-closed', { state: 'ended' });
    // A session whose call mapping is gone (expired) is skipped.
    await store.create({ id: 's-unmapped', callConnectionId: 'c-unmapped' });

    const active = await registry.listActive();
    expect(active.map((c) => c.callConnectionId)).toEqual(['c-connecting', 'c-connected']);
    expect(active.map((c) => c.status)).toEqual(['connecting', 'connected']);
  });

  it('lists nothing when there are no sessions', async () => {
    store = new MemorySessionStore(600);
    expect(await new CallRegistry(store).listActive()).toEqual([]);
  });
});
