import { join } from 'node:path';

/**
 * How to start a worker thread whose source sits next to the caller. Built, it is `<name>.js`. Under
 * Jest (TypeScript sources, no build) there is no .js file and a worker does not inherit Jest's
 * transform, so the .ts source is loaded through @swc-node/register (a devDependency), resolved from
 * here so the worker's cwd does not matter.
 */
export function workerEntry(
  dir: string,
  name: string,
  callerFile: string,
): { file: string; execArgv: string[] } {
  if (callerFile.endsWith('.ts')) {
    return { file: join(dir, `${name}.ts`), execArgv: ['-r', require.resolve('@swc-node/register')] };
  }
  return { file: join(dir, `${name}.js`), execArgv: [] };
}
