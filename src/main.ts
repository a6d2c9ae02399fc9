import 'reflect-metadata';
import { loadConfig } from './config';
import { serve } from './server';

// Service entry point (npm start, the container): logs go to stdout.
async function main(): Promise<void> {
  const config = loadConfig();
  await serve(config, { logFd: 1 });
}

main().catch((err: unknown) => {
  process.stderr.write(`voxline: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
