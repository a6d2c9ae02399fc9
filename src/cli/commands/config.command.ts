import type { Command } from 'commander';
import { loadConfig, maskedSettings, SETTINGS } from '../../config';

export function registerConfigCommand(program: Command): void {
  program
    .command('config')
    .description('validate the configuration and print it with secrets masked')
    .option('--json', 'print one JSON object')
    .action((opts: { json?: boolean }) => {
      const settings = maskedSettings(loadConfig());
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(settings)}\n`);
        return;
      }
      const width = Math.max(...SETTINGS.map((s) => s.name.length));
      for (const s of SETTINGS) {
        const v = settings[s.name];
        process.stdout.write(`${s.name.padEnd(width)}  ${v === undefined ? '(unset)' : String(v)}\n`);
      }
    });
}
