import { BenchChild } from '../lib/ipc';
import type { BenchContext } from '../lib/types';
import { runCapacity, standalone, type CapacityRunResult } from './capacity';

/**
 * sdk: the capacity loop with the real vendor client in the service. What runs today: the real `openai`
 * driver (LLM_DRIVER=openai) against the OpenAI SSE fake in its own process (pinned with the load
 * generator to CPU 1), STT/TTS fakes and the WebRTC VAD as in capacity. NOT wired yet: the Azure Speech
 * SDK drivers against the USP fake — test/fakes/usp-server.ts answers one scripted recognition per
 * connection after N bytes and records every message, which does not fit a multi-turn load run; the
 * result says so (`speech_sdk: false`).
 */

export interface SdkRunResult extends CapacityRunResult {
  llm_sdk: boolean;
  speech_sdk: boolean;
}

export async function run(ctx: BenchContext, options: { steps?: number[] } = {}): Promise<SdkRunResult> {
  const steps = options.steps ?? (ctx.quick ? [3] : [10, 25, 50, 100]);
  const result = await runCapacity(ctx, {
    vad: 'webrtc',
    steps,
    label: 'sdk',
    serviceArgs: ['--llm', 'config'],
    before: async () => {
      const fakes = BenchChild.spawn({ name: 'sdk fakes', entry: 'bench/lib/sdk-fakes.ts', cpu: 1 });
      try {
        const { openai } = JSON.parse(await fakes.nextLine(30_000)) as { openai: string };
        return {
          env: {
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
  return {
    ...result,
    llm_sdk: true,
    speech_sdk: false,
    notes: [...(result.notes ?? []), 'Azure Speech SDK ↔ USP fake not wired: STT/TTS are the port fakes'],
  };
}

// node -r @swc-node/register bench/scenarios/sdk.ts [--quick] [--steps 10,25]
if (require.main === module) {
  standalone('sdk', (ctx, flags) =>
    run(ctx, {
      ...(flags.steps ? { steps: flags.steps.split(',').map(Number) } : {}),
    }),
  );
}
