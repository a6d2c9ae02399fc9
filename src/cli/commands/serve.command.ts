import type { Command } from 'commander';
import { loadConfig } from '../../config';
import { serve } from '../../server';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the service (HTTP + WebSockets) with the configuration from the environment and .env')
    .option('-p, --port <port>', 'listen port (overrides PORT)')
    .action(async (opts: { port?: string }) => {
      const config = loadConfig(undefined, { overrides: { PORT: opts.port } });
      // A CLI command keeps stdout for output: the service's logs go to stderr.
      await serve(config, { logFd: 2 });
    });
}
