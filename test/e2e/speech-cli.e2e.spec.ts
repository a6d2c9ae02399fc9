import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWav } from '../../src/audio/wav';
import { CLI, runNode } from '../support/processes';

describe('voxline speak / transcribe (embedded engines)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'voxline-cli-'));

  it('speaks text into a PCM16 mono WAV at the requested rate', async () => {
    const out = join(dir, 'greeting.wav');
    const { code, stdout, stderr } = await runNode([
      CLI,
      'speak',
      'Thanks for calling. How can I help?',
      '-o',
      out,
      '--rate',
      '24000',
    ]);
    expect([code, stderr.split('\n').filter((l) => l.includes('"level":"error"'))]).toEqual([0, []]);
    expect(stdout).toBe('');
    const wav = readWav(readFileSync(out));
    expect(wav).toMatchObject({ sampleRate: 24000, channels: 1, bitsPerSample: 16, format: 1 });
    expect(wav.data.length / 2 / 24000).toBeGreaterThan(1);
  }, 30_000);

  it('round-trips digits through speak and transcribe --grammar digits, printing exactly one line', async () => {
    const out = join(dir, 'digits.wav');
    expect(
      (await runNode([CLI, 'speak', 'four five six seven', '-o', out, '--voice', 'policy_advisor'])).code,
    ).toBe(0);
    const { code, stdout } = await runNode([CLI, 'transcribe', out, '--grammar', 'digits']);
    expect(code).toBe(0);
    expect(stdout.split('\n')).toEqual(['4567']);
  }, 30_000);

  it('transcribes raw PCM at --rate and prints one JSON object with --json', async () => {
    const wavFile = join(dir, 'sentence.wav');
    expect(
      (
        await runNode([
          CLI,
          'speak',
          'i would like to report a claim',
          '-o',
          wavFile,
          '--voice',
          'policy_advisor',
        ])
      ).code,
    ).toBe(0);
    const raw = join(dir, 'sentence.raw');
    writeFileSync(raw, readWav(readFileSync(wavFile)).data);
    const { code, stdout } = await runNode([CLI, 'transcribe', raw, '--rate', '16000', '--json']);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0]) as { text: string; driver: string; timings: Record<string, number> };
    expect(result).toMatchObject({ driver: 'local', text: expect.stringContaining('report') });
    expect(result.timings.audioMs).toBeGreaterThan(1000);
  }, 30_000);

  it('names what it found when the file is not PCM16 mono', async () => {
    const stereo = Buffer.alloc(44 + 400);
    stereo.write('RIFF', 0);
    stereo.writeUInt32LE(36 + 400, 4);
    stereo.write('WAVEfmt ', 8);
    stereo.writeUInt32LE(16, 16);
    stereo.writeUInt16LE(1, 20);
    stereo.writeUInt16LE(2, 22);
    stereo.writeUInt32LE(44100, 24);
    stereo.writeUInt32LE(44100 * 4, 28);
    stereo.writeUInt16LE(4, 32);
    stereo.writeUInt16LE(16, 34);
    stereo.write('data', 36);
    stereo.writeUInt32LE(400, 40);
    const file = join(dir, 'stereo.wav');
    writeFileSync(file, stereo);
    const { code, stdout, stderr } = await runNode([CLI, 'transcribe', file]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim()).toBe('voxline: expected PCM16 mono WAV, found 44100 Hz, 2 channels, 16-bit PCM');
  });
});
