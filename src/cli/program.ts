import { Command, CommanderError } from 'commander';
import { VERSION } from '../common/version';
import { registerChatCommand } from './commands/chat.command';
import { registerConfigCommand } from './commands/config.command';
import { registerServeCommand } from './commands/serve.command';
import { registerSimulateCallCommand } from './commands/simulate-call.command';
import { registerSpeechCommands } from './commands/speech.commands';

/**
 * The `voxline` command. Every subcommand writes its result to stdout and its logs to stderr, and fails
 * with a one-line reason and a non-zero exit code.
 */
export function buildProgram(): Command {
  const program = new Command('voxline')
    .description('AI voice agents on the phone through Azure Communication Services')
    .version(VERSION)
    .showHelpAfterError(false)
    .exitOverride();
  registerServeCommand(program);
  registerConfigCommand(program);
  registerSpeechCommands(program);
  registerChatCommand(program);
  registerSimulateCallCommand(program);
  return program;
}

export async function runCli(program: Command, argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its message (usage errors) or the help/version text.
      process.exitCode = err.exitCode;
      return;
    }
    const message = err instanceof Error ? err.message.replace(/\s*\n\s*/g, ' ') : String(err);
    process.stderr.write(`voxline: ${message}\n`);
    process.exitCode = 1;
  }
}
