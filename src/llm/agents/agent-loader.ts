import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { load } from 'js-yaml';
import {
  SLOT_TYPES,
  type AfterToolRule,
  type AgentSpec,
  type HandoffSpec,
  type IntentSpec,
  type LocalSpec,
  type ScenarioSpec,
  type SlotSpec,
} from './agent.types';
import { Node, SpecError } from './yaml-reader';

const NAME = /^[a-z][a-z0-9_]*$/;

function parseYaml(file: string, label: string): Node {
  let doc: unknown;
  try {
    doc = load(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SpecError(
      label,
      '(document)',
      `is not valid YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
    );
  }
  return new Node(label, '', doc);
}

function templates(n: Node): Record<string, string> {
  return n.stringMap();
}

function parseLocal(n: Node): LocalSpec {
  if (!n.present)
    return {
      slots: [],
      intents: [],
      afterTool: {},
      fallback: "Sorry, I didn't catch that. Could you say it again?",
    };
  n.object(['slots', 'intents', 'complete', 'after_tool', 'fallback', 'pass_through_tool']);
  const slots: SlotSpec[] = n
    .child('slots')
    .array({ optional: true })
    .map((s) => {
      s.object(['name', 'type', 'prompt', 'reprompt', 'lengths']);
      const lengths = s
        .child('lengths')
        .array({ optional: true })
        .map((l) => l.number({ integer: true, min: 1, max: 20 })!);
      return {
        name: s.child('name').string({ pattern: NAME }),
        type: s.child('type').string({ oneOf: SLOT_TYPES }) as SlotSpec['type'],
        prompt: s.child('prompt').string(),
        ...(s.child('reprompt').present ? { reprompt: s.child('reprompt').string() } : {}),
        ...(lengths.length ? { lengths } : {}),
      };
    });
  const seen = new Set<string>();
  slots.forEach((s, i) => {
    if (seen.has(s.name)) n.child('slots').child(i).child('name').fail(`duplicates slot "${s.name}"`);
    seen.add(s.name);
  });
  const intents: IntentSpec[] = n
    .child('intents')
    .array({ optional: true })
    .map((i) => {
      i.object(['name', 'examples', 'patterns', 'requires', 'reply', 'tool', 'args']);
      const intent: IntentSpec = {
        name: i.child('name').string({ pattern: NAME }),
        examples: i.child('examples').stringList({ optional: true }),
        patterns: i.child('patterns').stringList({ optional: true }),
        requires: i.child('requires').stringList({ optional: true }),
        ...(i.child('reply').present ? { reply: i.child('reply').string() } : {}),
        ...(i.child('tool').present ? { tool: i.child('tool').string() } : {}),
        ...(i.child('args').present ? { args: templates(i.child('args')) } : {}),
      };
      if (intent.examples.length === 0 && intent.patterns.length === 0) i.fail('needs examples or patterns');
      if (!intent.reply && !intent.tool) i.fail('needs a reply or a tool');
      intent.patterns.forEach((p, k) => {
        try {
          new RegExp(p, 'i');
        } catch {
          i.child('patterns').child(k).fail('is not a valid regular expression');
        }
      });
      return intent;
    });
  const afterTool: Record<string, AfterToolRule[]> = {};
  const at = n.child('after_tool');
  if (at.present) {
    at.object();
    for (const tool of at.keys()) {
      afterTool[tool] = at
        .child(tool)
        .array()
        .map((r) => {
          r.object(['when', 'reply', 'tool', 'args', 'reset']);
          const rule: AfterToolRule = {
            ...(r.child('when').present
              ? {
                  when: Object.fromEntries(
                    r
                      .child('when')
                      .object()
                      .keys()
                      .map((k) => [k, r.child('when').child(k).scalar()]),
                  ),
                }
              : {}),
            ...(r.child('reply').present ? { reply: r.child('reply').string() } : {}),
            ...(r.child('tool').present ? { tool: r.child('tool').string() } : {}),
            ...(r.child('args').present ? { args: templates(r.child('args')) } : {}),
            ...(r.child('reset').present ? { reset: r.child('reset').stringList() } : {}),
          };
          if (!rule.reply && !rule.tool) r.fail('needs a reply or a tool');
          return rule;
        });
    }
  }
  const complete = n.child('complete');
  const pass = n.child('pass_through_tool');
  return {
    slots,
    intents,
    afterTool,
    fallback: n.child('fallback').optionalString() ?? "Sorry, I didn't catch that. Could you say it again?",
    ...(complete.present
      ? {
          complete: {
            ...(complete.object(['tool', 'args', 'reply']).child('tool').present
              ? { tool: complete.child('tool').string() }
              : {}),
            ...(complete.child('args').present ? { args: templates(complete.child('args')) } : {}),
            ...(complete.child('reply').present ? { reply: complete.child('reply').string() } : {}),
          },
        }
      : {}),
    ...(pass.present
      ? {
          passThroughTool: {
            tool: pass.object(['tool', 'arg']).child('tool').string(),
            arg: pass.child('arg').string(),
          },
        }
      : {}),
  };
}

export function parseAgent(file: string, label = file): AgentSpec {
  const root = parseYaml(file, label).object([
    'name',
    'description',
    'greeting',
    'return_greeting',
    'voice',
    'model',
    'prompt',
    'tools',
    'local',
  ]);
  const voice = root.child('voice').object(['alias', 'style', 'rate']);
  const model = root.child('model');
  if (model.present) model.object(['temperature', 'max_tokens', 'top_p']);
  const agent: AgentSpec = {
    name: root.child('name').string({ pattern: NAME }),
    description: root.child('description').string(),
    greeting: root.child('greeting').string(),
    returnGreeting: root.child('return_greeting').optionalString() ?? root.child('greeting').string(),
    voice: {
      alias: voice.child('alias').string(),
      ...(voice.child('style').present ? { style: voice.child('style').string() } : {}),
      ...(voice.child('rate').present ? { rate: voice.child('rate').number({ min: 0.5, max: 2 }) } : {}),
    },
    model: {
      temperature: model.child('temperature').number({ min: 0, max: 2 }),
      maxTokens: model.child('max_tokens').number({ integer: true, min: 1, max: 32000 }),
      topP: model.child('top_p').number({ min: 0, max: 1 }),
    },
    prompt: root.child('prompt').string(),
    tools: root.child('tools').stringList({ optional: true }),
    local: parseLocal(root.child('local')),
    source: label,
  };
  if (basename(file, '.yaml') !== agent.name)
    root.child('name').fail(`must match the file name (${basename(file, '.yaml')})`);
  return agent;
}

export function parseScenario(file: string, label = file): ScenarioSpec {
  const root = parseYaml(file, label).object(['name', 'description', 'start_agent', 'agents', 'handoffs']);
  const agents = root.child('agents').stringList();
  const handoffs: HandoffSpec[] = root
    .child('handoffs')
    .array({ optional: true })
    .map((h) => {
      h.object(['from', 'to', 'tool', 'type', 'share_context', 'description']);
      const spec: HandoffSpec = {
        from: h.child('from').string(),
        to: h.child('to').string(),
        tool: h.child('tool').string({ pattern: NAME }),
        type: h.child('type').string({ oneOf: ['announced', 'discrete'] }) as HandoffSpec['type'],
        shareContext: h.child('share_context').boolean(true),
        ...(h.child('description').present ? { description: h.child('description').string() } : {}),
      };
      if (!agents.includes(spec.from))
        h.child('from').fail(`names an agent not in the scenario ("${spec.from}")`);
      if (!agents.includes(spec.to)) h.child('to').fail(`names an agent not in the scenario ("${spec.to}")`);
      if (spec.from === spec.to) h.child('to').fail('must differ from `from`');
      return spec;
    });
  const tools = new Set<string>();
  handoffs.forEach((h, i) => {
    const key = `${h.from}:${h.tool}`;
    if (tools.has(key))
      root.child('handoffs').child(i).child('tool').fail(`duplicates tool "${h.tool}" for agent ${h.from}`);
    tools.add(key);
  });
  const scenario: ScenarioSpec = {
    name: root.child('name').string({ pattern: NAME }),
    description: root.child('description').string(),
    startAgent: root.child('start_agent').string(),
    agents,
    handoffs,
    source: label,
  };
  if (!agents.includes(scenario.startAgent))
    root.child('start_agent').fail(`names an agent not in the scenario ("${scenario.startAgent}")`);
  return scenario;
}

export interface LoadedScenario {
  scenario: ScenarioSpec;
  agents: Map<string, AgentSpec>;
  /** Directory of the scenario (data files are resolved against it). */
  dir: string;
}

/**
 * Loads `<root>/<scenario>/scenario.yaml` and its `agents/*.yaml`, checking cross references: every
 * agent exists, and every tool an agent uses (in `tools` or in its local rules) is a registered tool or
 * one of its hand-off tools.
 */
export function loadScenarioDir(root: string, name: string, knownTools: ReadonlySet<string>): LoadedScenario {
  const dir = join(root, name);
  const label = (f: string) => relative(root, f) || f;
  const scenarioFile = join(dir, 'scenario.yaml');
  if (!existsSync(scenarioFile)) throw new SpecError(label(scenarioFile), '(document)', 'does not exist');
  const scenario = parseScenario(scenarioFile, label(scenarioFile));
  const agents = new Map<string, AgentSpec>();
  for (const agentName of scenario.agents) {
    const file = join(dir, 'agents', `${agentName}.yaml`);
    if (!existsSync(file))
      throw new SpecError(
        scenario.source,
        'agents',
        `names "${agentName}" but ${label(file)} does not exist`,
      );
    agents.set(agentName, parseAgent(file, label(file)));
  }
  for (const agent of agents.values()) {
    const handoffTools = new Set(scenario.handoffs.filter((h) => h.from === agent.name).map((h) => h.tool));
    const usable = (t: string) => knownTools.has(t) || handoffTools.has(t);
    agent.tools.forEach((t, i) => {
      if (!usable(t))
        throw new SpecError(
          agent.source,
          `tools[${i}]`,
          `names an unknown tool "${t}" (registered: ${[...knownTools].join(', ')}; hand-offs: ${[...handoffTools].join(', ') || 'none'})`,
        );
    });
    const offered = new Set([...agent.tools, ...handoffTools]);
    const check = (tool: string | undefined, field: string) => {
      if (tool && !offered.has(tool))
        throw new SpecError(
          agent.source,
          field,
          `calls tool "${tool}" that the agent does not list in tools or hand-offs`,
        );
    };
    agent.local.intents.forEach((it, i) => check(it.tool, `local.intents[${i}].tool`));
    check(agent.local.complete?.tool, 'local.complete.tool');
    check(agent.local.passThroughTool?.tool, 'local.pass_through_tool.tool');
    for (const [tool, rules] of Object.entries(agent.local.afterTool)) {
      check(tool, `local.after_tool.${tool}`);
      rules.forEach((r, i) => check(r.tool, `local.after_tool.${tool}[${i}].tool`));
    }
  }
  return { scenario, agents, dir };
}

export function scenarioNames(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'scenario.yaml')))
    .map((d) => d.name)
    .sort();
}
