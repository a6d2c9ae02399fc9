import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { loadConfig } from '../../config';
import { createRootLogger, fdDestination } from '../../logging/logger';
import { RecordingCallControl, type CallAction } from '../../llm/call-control.port';
import { createLlm } from '../../llm/llm.factory';
import type { TurnEvent } from '../../llm/orchestrator';
import { MemorySessionStore } from '../../session/memory-session-store';
import { SessionWriteQueue } from '../../session/session-write-queue';

type Out = (line: string) => void;

function describeAction(action: CallAction): string {
  return action.type === 'transfer_requested'
    ? `transfer to a human requested (${action.reason})`
    : `hang-up requested (${action.reason})`;
}

/** `--json` lines: exactly the documented event shapes, one object per line. */
function jsonLine(e: TurnEvent): string | undefined {
  switch (e.type) {
    case 'agent_text':
      return JSON.stringify({ type: 'agent_text', agent: e.agent, text: e.text });
    case 'tool_call':
      return JSON.stringify({ type: 'tool_call', name: e.name, arguments: e.arguments });
    case 'tool_result':
      return JSON.stringify({
        type: 'tool_result',
        name: e.name,
        result: e.error ? { error: e.error } : e.result,
      });
    case 'handoff':
      return JSON.stringify({ type: 'handoff', from: e.from, to: e.to, mode: e.mode });
    case 'call_action':
      return JSON.stringify({ type: 'call_action', action: e.action });
    case 'turn_end':
      return JSON.stringify({ type: 'turn_end', metrics: e.metrics });
    case 'error':
      return JSON.stringify({ type: 'error', code: e.error.code, message: e.error.message });
    default:
      return undefined;
  }
}

function textLine(e: TurnEvent): string | undefined {
  switch (e.type) {
    case 'agent_text':
      return `${e.agent}> ${e.text}`;
    case 'handoff':
      return `  [hand-off ${e.from} → ${e.to}, ${e.mode}]`;
    case 'call_action':
      return `  [call action: ${describeAction(e.action)}]`;
    case 'error':
      return `  [error ${e.error.code}: ${e.error.message}]`;
    default:
      return undefined;
  }
}

export function registerChatCommand(program: Command): void {
  program
    .command('chat')
    .description(
      'text conversation with the agents of a scenario (stdin/stdout), with the configured LLM driver',
    )
    .option('--scenario <name>', 'scenario to run (default: DEFAULT_SCENARIO)')
    .option('--script <file>', 'caller lines, one per line, run non-interactively')
    .option('--json', 'one JSON object per event on stdout, nothing else')
    .action(async (opts: { scenario?: string; script?: string; json?: boolean }) => {
      const config = loadConfig();
      const destination = fdDestination(2);
      const logger = createRootLogger(config, destination);
      const llm = createLlm(config, logger);
      const scenario = llm.scenario(opts.scenario);
      const out: Out = (line) => process.stdout.write(`${line}\n`);
      const format = opts.json ? jsonLine : textLine;
      const store = new MemorySessionStore(config.session.ttlSeconds);
      const writer = new SessionWriteQueue(store, logger.child({ module: 'session-writes' }), {
        maxPending: 10_000,
      });
      const session = await store.create({ scenario: scenario.scenario.name });
      const orchestrator = llm.orchestrator(new RecordingCallControl(), writer);
      const { state, greeting } = orchestrator.start(scenario, session.id, { caller: 'chat user' });
      const greetingLine = format({ type: 'agent_text', ...greeting });
      if (greetingLine) out(greetingLine);

      let ended = false;
      const turn = async (line: string) => {
        for await (const event of orchestrator.runTurn(state, line)) {
          const formatted = format(event);
          if (formatted) out(formatted);
          if (event.type === 'call_action') ended = true;
        }
      };
      try {
        if (opts.script) {
          const lines = (
            await readFile(opts.script, 'utf8').catch((err: NodeJS.ErrnoException) => {
              throw new Error(`cannot read ${opts.script}: ${err.code ?? err.message}`);
            })
          )
            .split('\n')
            .map((l) => l.trim())
            .filter((l) => l && !l.startsWith('#'));
          for (const line of lines) {
            if (ended) break;
            if (!opts.json) out(`you> ${line}`);
            await turn(line);
          }
        } else {
          const rl = createInterface({
            input: process.stdin,
            output: process.stderr,
            prompt: 'you> ',
            terminal: process.stdin.isTTY,
          });
          rl.prompt();
          for await (const line of rl) {
            if (line.trim()) await turn(line.trim());
            if (ended) break;
            rl.prompt();
          }
          rl.close();
        }
      } finally {
        await writer.flush(2000);
        writer.close();
        await store.close();
        destination.flushSync();
      }
    });
}
