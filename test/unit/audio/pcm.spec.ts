import { concatSamples } from '../../../src/audio/pcm';

describe('concatSamples', () => {
  it('puts the parts one after the other in a new array, views included', () => {
    const backing = new Int16Array([9, 1, 2, 9]);
    const parts = [backing.subarray(1, 3), new Int16Array([]), new Int16Array([3, 4])];
    const out = concatSamples(parts);
    expect(Array.from(out)).toEqual([1, 2, 3, 4]);
    out[0] = 7;
    expect(backing[1]).toBe(1);
    expect(concatSamples([]).length).toBe(0);
  });
});
