import { join } from 'node:path';
import { CLI, ROOT, runNode } from '../support/processes';

const SCRIPT = join(ROOT, 'test', 'fixtures', 'insurance-claim.script');

describe('voxline chat (embedded local model, default insurance scenario)', () => {
  it('authenticates the demo caller, records a claim, hands off and hangs up — as JSON lines only', async () => {
    const { code, stdout } = await runNode([CLI, 'chat', '--script', SCRIPT, '--json']);
    expect(code).toBe(0);
    const events = stdout.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events[0]).toMatchObject({
      type: 'agent_text',
      agent: 'authentication',
      text: expect.stringMatching(/full name/),
    });
    expect(events).toContainEqual({
      type: 'tool_call',
      name: 'verify_caller',
      arguments: { name: 'Alice Brown', zip_or_last4: '60601' },
    });
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'tool_result',
        name: 'verify_caller',
        result: expect.objectContaining({ verified: true }),
      }),
    );
    expect(events).toContainEqual({
      type: 'handoff',
      from: 'authentication',
      to: 'claims',
      mode: 'announced',
    });
    const claim = events.find((e) => e.type === 'tool_result' && e.name === 'record_claim') as {
      result: { claimNumber: string };
    };
    expect(claim.result.claimNumber).toMatch(/^CLM-\d{6}$/);
    expect(events).toContainEqual({
      type: 'call_action',
      action: { type: 'hangup_requested', reason: 'caller is done' },
    });
    expect(events.filter((e) => e.type === 'turn_end')).toHaveLength(7);
    for (const e of events)
      expect(['agent_text', 'tool_call', 'tool_result', 'handoff', 'call_action', 'turn_end']).toContain(
        e.type,
      );
  });

  it('prints a readable transcript without --json', async () => {
    const { code, stdout } = await runNode([CLI, 'chat', '--script', SCRIPT]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^authentication> Thank you for calling Contoso Insurance/);
    expect(stdout).toContain('[hand-off authentication → claims, announced]');
    expect(stdout).toMatch(/claims> I've recorded your claim\. Your claim number is C L M/);
  });

  it('fails with a one-line reason for an unknown scenario', async () => {
    const { code, stdout, stderr } = await runNode([
      CLI,
      'chat',
      '--scenario',
      'banking',
      '--script',
      SCRIPT,
    ]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim()).toMatch(/^voxline: .*scenario "banking" does not exist \(available: insurance\)$/);
  });
});
