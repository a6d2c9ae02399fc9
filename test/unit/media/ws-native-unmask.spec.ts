/**
 * ACS masks every frame it sends (RFC 6455 client frames). Without the native `bufferutil` addon, `ws`
 * unmasks them in a JS byte loop (≈ 1.7 µs per 20 ms AudioData frame against ≈ 0.1 µs natively), and
 * both ws and bufferutil fall back to JS silently when the addon does not load. This guards the prebuild.
 */
type Unmask = (buffer: Buffer, mask: Buffer) => void;

describe('native WebSocket unmasking', () => {
  it('loads the bufferutil prebuild, not its JS fallback, and unmasks a frame with it', () => {
    const native = jest.requireActual<{ unmask: Unmask }>('bufferutil');
    const fallback = jest.requireActual<{ unmask: Unmask }>('bufferutil/fallback');
    expect(native.unmask).not.toBe(fallback.unmask);
    const payload = Buffer.from(
      '{"kind":"AudioData","audioData":{"data":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}',
    );
    const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]));
    native.unmask(masked, mask);
    expect(masked.equals(payload)).toBe(true);
  });
});
