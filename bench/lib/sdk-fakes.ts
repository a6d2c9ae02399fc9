import { OpenAiSseFake, type StreamStep } from '../../test/fakes/openai-sse-server';
import { UspFake } from '../../test/fakes/usp-server';
import { numberFlag, parseFlags, serveIpc } from './ipc';

/**
 * The sdk scenario's provider fakes in their own process (pinned beside the load generator, off the
 * service's CPU):
 * - an OpenAI-compatible SSE endpoint answering every chat request with a streamed reply (first token
 *   after --ttft-ms, then --tps words a second); its request log and script are topped up / pruned
 *   every second so it can serve a long benchmark;
 * - the Azure Speech USP fake: recognition finds each utterance in the audio by energy and answers
 *   partials, then a final --stt-final-ms after the utterance ends (end of speech is detected after
 *   --stt-end-silence-ms of quiet); synthesis answers silence of the text's length (--tts-ms-per-char),
 *   the first chunk after --tts-first-ms, the rest --tts-speed times faster than real time.
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
  const usp = await new UspFake().start();
  usp.record = false;
  usp.stt = {
    kind: 'energy',
    text: 'I would like to report a claim',
    endSilenceMs: numberFlag(flags, 'stt-end-silence-ms', 300),
    finalDelayMs: numberFlag(flags, 'stt-final-ms', 0),
    partialEveryMs: 300,
  };
  usp.tts = {
    kind: 'synth',
    firstChunkMs: numberFlag(flags, 'tts-first-ms', 80),
    msPerChar: numberFlag(flags, 'tts-ms-per-char', 60),
    chunkMs: 200,
    speed: numberFlag(flags, 'tts-speed', 4),
  };
  const topUp = () => {
    fake.requests.length = 0;
    fake.enqueue(...Array.from({ length: 2000 }, () => ({ kind: 'stream' as const, steps })));
  };
  topUp();
  const timer = setInterval(() => {
    fake.reset();
    topUp();
  }, 1000);
  serveIpc({ url: () => fake.url, usp: () => ({ open: usp.openConnections }) }, async () => {
    clearInterval(timer);
    await Promise.all([fake.close(), usp.stop()]);
  });
  process.stdout.write(`${JSON.stringify({ openai: fake.url, usp: usp.url })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`sdk fakes: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
