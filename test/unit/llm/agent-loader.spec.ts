import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioDir } from '../../../src/llm/agents/agent-loader';
import { DEFAULT_SCENARIOS_DIR } from '../../../src/llm/llm.factory';

const TOOLS = new Set(['verify_caller', 'record_claim', 'lookup_policy', 'escalate_to_human', 'end_call']);

/** A copy of the bundled insurance scenario where one file can be broken. */
function copyScenario(): string {
  const root = mkdtempSync(join(tmpdir(), 'voxline-scenarios-'));
  cpSync(join(DEFAULT_SCENARIOS_DIR, 'insurance'), join(root, 'insurance'), { recursive: true });
  return root;
}

function edit(root: string, file: string, change: (text: string) => string) {
  const path = join(root, 'insurance', file);
  writeFileSync(path, change(readFileSync(path, 'utf8')));
}

describe('scenario and agent YAML validation', () => {
  it('loads the bundled insurance scenario with its three agents and hand-offs', () => {
    const { scenario, agents } = loadScenarioDir(DEFAULT_SCENARIOS_DIR, 'insurance', TOOLS);
    expect(scenario).toMatchObject({ name: 'insurance', startAgent: 'authentication' });
    expect([...agents.keys()]).toEqual(['authentication', 'claims', 'policy']);
    expect(scenario.handoffs.map((h) => `${h.from}->${h.to}:${h.type}`)).toContain(
      'authentication->claims:announced',
    );
    expect(agents.get('authentication')?.local.slots.map((s) => s.type)).toEqual(['name', 'digits']);
  });

  it('names the file and the field of an invalid value', () => {
    const root = copyScenario();
    edit(root, 'agents/claims.yaml', (t) => t.replace('type: date', 'type: calendar'));
    expect(() => loadScenarioDir(root, 'insurance', TOOLS)).toThrow(
      'insurance/agents/claims.yaml: local.slots[1].type must be one of name, digits, date, yes_no, text (got "calendar")',
    );
  });

  it('names a missing required field', () => {
    const root = copyScenario();
    edit(root, 'agents/policy.yaml', (t) => t.replace(/^greeting:.*$/m, ''));
    expect(() => loadScenarioDir(root, 'insurance', TOOLS)).toThrow(
      'insurance/agents/policy.yaml: greeting is required',
    );
  });

  it('rejects unknown fields, unknown tools and hand-offs to agents that do not exist', () => {
    const a = copyScenario();
    edit(a, 'agents/policy.yaml', (t) => `colour: blue\n${t}`);
    expect(() => loadScenarioDir(a, 'insurance', TOOLS)).toThrow(/policy\.yaml: colour is not a known field/);
    const b = copyScenario();
    edit(b, 'agents/claims.yaml', (t) =>
      t.replace('tools: [record_claim,', 'tools: [launch_rocket, record_claim,'),
    );
    expect(() => loadScenarioDir(b, 'insurance', TOOLS)).toThrow(
      /claims\.yaml: tools\[0\] names an unknown tool "launch_rocket"/,
    );
    const c = copyScenario();
    edit(c, 'scenario.yaml', (t) =>
      t.replace(
        'to: policy, tool: handoff_to_policy, type: announced',
        'to: billing, tool: handoff_to_policy, type: announced',
      ),
    );
    expect(() => loadScenarioDir(c, 'insurance', TOOLS)).toThrow(
      /scenario\.yaml: handoffs\[1\]\.to names an agent not in the scenario \("billing"\)/,
    );
  });

  it('rejects a local rule that calls a tool the agent does not offer', () => {
    const root = copyScenario();
    edit(root, 'agents/policy.yaml', (t) => t.replace('tool: handoff_to_claims', 'tool: verify_caller'));
    expect(() => loadScenarioDir(root, 'insurance', TOOLS)).toThrow(
      /policy\.yaml: local\.intents\[2\]\.tool calls tool "verify_caller" that the agent does not list/,
    );
  });

  it('reports broken YAML with the file name', () => {
    const root = copyScenario();
    edit(root, 'agents/claims.yaml', (t) => `${t}\n  bad: [unclosed\n`);
    expect(() => loadScenarioDir(root, 'insurance', TOOLS)).toThrow(
      /insurance\/agents\/claims\.yaml: \(document\) is not valid YAML/,
    );
  });
});
