import { OpenAiSseFake, type StreamStep } from '../../test/fakes/openai-sse-server';
import { numberFlag, parseFlags, serveIpc } from './ipc';

/**
 * The sdk scenario's provider fakes in their own process (pinned beside the load generator, off the
 * service's CPU): an OpenAI-compatible SSE endpoint answering every chat request with a streamed reply
 * (first token after --ttft-ms, then --tps words a second). The fake's request log and script are
 * topped up / pruned every second so it can serve a long benchmark.
 */

const REPLY = 'Thanks, I have noted that. What happened next?';

function reply(ttftMs: number, tps: number): StreamStep[] {
  const words = REPLY.split(/(?<=\s)/);
  const steps: StreamStep[] = [{ delayMs: ttftMs }];
  words.forEach((w, i) => {
    if (i > 0) steps.push({ delayMs: 1000 / tps });
    steps.push({ text: w });
  });
  steps.push({ finish: 'stop' }, { usage: { prompt: 100, completion: words.length } });
  return steps;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const steps = reply(numberFlag(flags, 'ttft-ms', 300), numberFlag(flags, 'tps', 30));
  const fake = await new OpenAiSseFake().start();
  const topUp = () => {
    fake.requests.length = 0;
    fake.enqueue(...Array.from({ length: 2000 }, () => ({ kind: 'stream' as const, steps })));
  };
  topUp();
  const timer = setInterval(() => {
    fake.reset();
    topUp();
  }, 1000);
  serveIpc({ url: () => fake.url }, async () => {
    clearInterval(timer);
    await fake.close();
  });
  process.stdout.write(`${JSON.stringify({ openai: fake.url })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`sdk fakes: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
