import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { ShapeError } from '../../src/errors.ts';
import { applyRotaryInPlace, rotaryTablesInto } from '../../src/ops/rope.ts';
import { PROP, randomArray } from '../helpers.ts';

const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });
// [T, H, Dh, rotDim] with rotDim even and <= Dh (partial rotary included).
const dims = fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 24 }))
  .chain(([T, H, Dh]) => fc.tuple(fc.constant(T), fc.constant(H), fc.constant(Dh), fc.integer({ min: 0, max: Dh >> 1 }).map((h) => 2 * h)));

/** HF inv_freq = 1 / base^(arange(0, dim, 2) / dim). */
function invFreq(rotDim: number, base = 10000): Float32Array {
  return Float32Array.from({ length: rotDim / 2 }, (_, i) => 1 / base ** ((2 * i) / rotDim));
}

/** HF apply_rotary_pos_emb written literally: q·cat(cos,cos) + rotate_half(q)·cat(sin,sin) on the first rotDim. */
function naiveRope(x: Float32Array, cos: Float32Array, sin: Float32Array, T: number, H: number, Dh: number, rotDim: number): Float32Array {
  const half = rotDim / 2;
  const out = Float32Array.from(x);
  for (let t = 0; t < T; t++) {
    const cosFull = [...cos.subarray(t * half, (t + 1) * half), ...cos.subarray(t * half, (t + 1) * half)];
    const sinFull = [...sin.subarray(t * half, (t + 1) * half), ...sin.subarray(t * half, (t + 1) * half)];
    for (let h = 0; h < H; h++) {
      const v = Array.from(x.subarray((t * H + h) * Dh, (t * H + h) * Dh + rotDim));
      const rotated = [...v.slice(half).map((a) => -a), ...v.slice(0, half)]; // rotate_half
      for (let i = 0; i < rotDim; i++) out[(t * H + h) * Dh + i] = v[i] * cosFull[i] + rotated[i] * sinFull[i];
    }
  }
  return out;
}

function tables(rotDim: number, pos0: number, T: number): { cos: Float32Array; sin: Float32Array } {
  const cos = new Float32Array((T * rotDim) / 2);
  const sin = new Float32Array((T * rotDim) / 2);
  rotaryTablesInto(cos, sin, invFreq(rotDim), pos0, T);
  return { cos, sin };
}

describe('rotary embedding (rotate_half layout)', () => {
  test.prop([dims, fc.integer({ min: 0, max: 5000 }), seed], PROP)('matches HF apply_rotary_pos_emb; features past rotDim pass through', ([T, H, Dh, rotDim], pos0, s) => {
    const x = randomArray(T * H * Dh, s);
    const { cos, sin } = tables(rotDim, pos0, T);
    const want = naiveRope(x, cos, sin, T, H, Dh, rotDim);
    const got = Float32Array.from(x);
    applyRotaryInPlace(got, cos, sin, T, H, Dh, rotDim);
    for (let i = 0; i < x.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-6 * (Math.abs(want[i]) + 1));
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < H; h++) {
        const o = (t * H + h) * Dh;
        for (let i = rotDim; i < Dh; i++) expect(got[o + i]).toBe(x[o + i]);
      }
    }
  });

  test.prop([dims, fc.integer({ min: 0, max: 5000 }), seed], PROP)('preserves the norm of every rotated pair (i, i + rotDim/2)', ([T, H, Dh, rotDim], pos0, s) => {
    const x = randomArray(T * H * Dh, s);
    const { cos, sin } = tables(rotDim, pos0, T);
    const y = Float32Array.from(x);
    applyRotaryInPlace(y, cos, sin, T, H, Dh, rotDim);
    const half = rotDim / 2;
    for (let th = 0; th < T * H; th++) {
      for (let i = 0; i < half; i++) {
        const o = th * Dh;
        const before = Math.hypot(x[o + i], x[o + i + half]);
        expect(Math.abs(Math.hypot(y[o + i], y[o + i + half]) - before)).toBeLessThanOrEqual(1e-6 * (before + 1e-6));
      }
    }
  });

  test.prop([fc.integer({ min: 1, max: 16 }).map((h) => 2 * h), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 500 }), seed], PROP)(
    'q_m · k_n depends only on m − n', (Dh, m, n, shift, s) => {
      const q = randomArray(Dh, s);
      const k = randomArray(Dh, s + 1);
      const at = (v: Float32Array, pos: number): Float32Array => {
        const { cos, sin } = tables(Dh, pos, 1);
        const r = Float32Array.from(v);
        applyRotaryInPlace(r, cos, sin, 1, 1, Dh);
        return r;
      };
      const dot = (a: Float32Array, b: Float32Array): number => a.reduce((acc, v, i) => acc + v * b[i], 0);
      const norm = Math.hypot(...q) * Math.hypot(...k);
      // f32 angles at positions <= 700 are off by <= 700·2^-24 rad: the tolerance follows.
      expect(Math.abs(dot(at(q, m), at(k, n)) - dot(at(q, m + shift), at(k, n + shift)))).toBeLessThanOrEqual(1e-4 * norm);
    });

  it('position 0 is the identity; tables carry attention scaling', () => {
    const { cos, sin } = tables(4, 0, 1);
    const x = Float32Array.from([1, 2, 3, 4]);
    applyRotaryInPlace(x, cos, sin, 1, 1, 4);
    expect(Array.from(x)).toEqual([1, 2, 3, 4]);
    const c = new Float32Array(2);
    const s = new Float32Array(2);
    rotaryTablesInto(c, s, invFreq(4), 0, 1, 1.5);
    expect(Array.from(c)).toEqual([1.5, 1.5]);
  });

  it('rejects odd or oversized rotDim and wrong table sizes with ShapeError', () => {
    const x = new Float32Array(8);
    expect(() => applyRotaryInPlace(x, new Float32Array(2), new Float32Array(2), 1, 2, 4, 3)).toThrow(ShapeError);
    expect(() => applyRotaryInPlace(x, new Float32Array(3), new Float32Array(3), 1, 2, 4, 6)).toThrow(ShapeError);
    expect(() => applyRotaryInPlace(x, new Float32Array(1), new Float32Array(2), 1, 2, 4)).toThrow(ShapeError);
    expect(() => rotaryTablesInto(new Float32Array(1), new Float32Array(2), new Float32Array(2), 0, 1)).toThrow(ShapeError);
  });
});
