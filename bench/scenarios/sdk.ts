import { BenchChild } from '../lib/ipc';
import type { BenchContext } from '../lib/types';
import { runCapacity, standalone, type CapacityRunResult } from './capacity';

/**
 * sdk: the capacity loop with the production vendor clients in the service, pinned to CPU 0: the Azure
 * Speech SDK drivers (STT_DRIVER=azure, TTS_DRIVER=azure: continuous recognition over a push stream,
 * streamed synthesis) against the USP fake, and the `openai` driver (LLM_DRIVER=openai) against the
 * OpenAI SSE fake — both fakes in one process pinned with the load generator to CPU 1, with the same
 * latencies as the capacity fakes (test/fakes/usp-server.ts `energy` and `synth` behaviours). WebRTC VAD,
 * so the figure is the vendor clients' cost on top of the cheapest pipeline.
 */

export interface SdkRunResult extends CapacityRunResult {
  llm_sdk: boolean;
  speech_sdk: boolean;
}

export async function run(
  ctx: BenchContext,
  options: { steps?: number[]; measureMs?: number; serviceNodeFlags?: string[] } = {},
): Promise<SdkRunResult> {
  const steps = options.steps ?? (ctx.quick ? [3] : [10, 25, 50, 100]);
  const result = await runCapacity(ctx, {
    ...(options.measureMs ? { measureMs: options.measureMs } : {}),
    ...(options.serviceNodeFlags ? { serviceNodeFlags: options.serviceNodeFlags } : {}),
    vad: 'webrtc',
    steps,
    label: 'sdk',
    serviceArgs: ['--engines', 'config'],
    before: async () => {
      const fakes = BenchChild.spawn({ name: 'sdk fakes', entry: 'bench/lib/sdk-fakes.ts', cpu: 1 });
      try {
        const { openai, usp } = JSON.parse(await fakes.nextLine(30_000)) as { openai: string; usp: string };
        return {
          env: {
            STT_DRIVER: 'azure',
            TTS_DRIVER: 'azure',
            AZURE_SPEECH_KEY: 'bench-key',
            AZURE_SPEECH_ENDPOINT: usp,
            LLM_DRIVER: 'openai',
            OPENAI_BASE_URL: `${openai}/v1`,
            OPENAI_API_KEY: 'bench',
            OPENAI_MODEL: 'bench-model',
            LLM_MAX_CONCURRENCY: '1000',
          },
          close: () => fakes.close(),
        };
      } catch (err) {
        await fakes.close();
        throw err;
      }
    },
  });
  return { ...result, llm_sdk: true, speech_sdk: true };
}

// node -r @swc-node/register bench/scenarios/sdk.ts [--quick] [--steps 10,25] [--measure-s 20] [--cpu-prof DIR]
if (require.main === module) {
  standalone('sdk', (ctx, flags) =>
    run(ctx, {
      ...(flags.steps ? { steps: flags.steps.split(',').map(Number) } : {}),
      ...(flags['measure-s'] ? { measureMs: Number(flags['measure-s']) * 1000 } : {}),
      ...(flags['cpu-prof'] ? { serviceNodeFlags: ['--cpu-prof', '--cpu-prof-dir', flags['cpu-prof']] } : {}),
    }),
  );
}
