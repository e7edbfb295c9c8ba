import { describe, expect, test } from 'vitest';
import { compareArgmax } from '../../src/verify/compare.ts';
import { ARGMAX_MARGIN, argmaxMargin, DEFAULT_TOLERANCE } from '../../src/index.ts';

describe('argmax check under a looser --tolerance', () => {
  test('at the default tolerance the float-tie band is ARGMAX_MARGIN', () => {
    expect(argmaxMargin(DEFAULT_TOLERANCE)).toBe(ARGMAX_MARGIN);
    expect(argmaxMargin(1e-5)).toBe(ARGMAX_MARGIN);
  });

  test('a flip that every-logit-within-tolerance allows is not decisive; a larger one is', () => {
    // Reference row: top-2 margin 0.3. Actual logits are each within 0.2 of it but the argmax flips.
    const expected = new Float32Array([1.0, 0.7, -1]);
    const actual = new Float32Array([0.85, 0.87, -1]);
    expect(compareArgmax(actual, expected, 1, 3, argmaxMargin(0.2)).decisiveMismatches).toEqual([]);
    expect(compareArgmax(actual, expected, 1, 3, argmaxMargin(DEFAULT_TOLERANCE)).decisiveMismatches).toEqual([0]);
  });
});
