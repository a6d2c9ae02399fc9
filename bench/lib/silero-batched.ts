import type { SileroVad } from '../../src/speech/vad/silero-vad';

/**
 * CPU µs per call-frame of Silero as the media cascade runs it: `calls` streams with event listeners,
 * one frame of each per event-loop turn, so their windows share one batched inference per turn.
 */
export async function sileroBatchedUs(
  silero: SileroVad,
  frameAt: (i: number) => Int16Array,
  options: { calls?: number; frames: number },
): Promise<number> {
  const calls = options.calls ?? 32;
  const streams = await Promise.all(Array.from({ length: calls }, () => silero.createStream(16000)));
  const turn = () => new Promise<void>((r) => setImmediate(r));
  try {
    for (const stream of streams) stream.onEvent!(() => undefined);
    for (let t = 0; t < 10; t++) {
      for (const stream of streams) stream.process(frameAt(t));
      await turn();
    }
    const ticks = Math.max(20, Math.ceil(options.frames / calls));
    const cpu0 = process.cpuUsage();
    for (let t = 0; t < ticks; t++) {
      for (const stream of streams) stream.process(frameAt(t));
      await turn();
    }
    const cpu = process.cpuUsage(cpu0);
    return (cpu.user + cpu.system) / (ticks * calls);
  } finally {
    for (const stream of streams) stream.close();
  }
}
