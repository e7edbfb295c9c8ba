import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { ShapeError } from '../../src/errors.ts';
import {
  addInto, clampInto, erf, geluErf, geluErfInto, geluTanh, geluTanhInto, mulInto, quickGelu, quickGeluInto, scaleInto, sigmoid,
  sigmoidInto, siluInto,
} from '../../src/ops/elementwise.ts';
import { PROP } from '../helpers.ts';

const values = fc.float32Array({ noNaN: true, noDefaultInfinity: true, min: -60, max: 60, maxLength: 40 });

/** Each `*Into` must equal its scalar formula rounded to f32, element by element. */
const unary: [string, (out: Float32Array, x: Float32Array) => void, (x: number) => number][] = [
  ['sigmoid', sigmoidInto, (x) => 1 / (1 + Math.exp(-x))],
  ['silu', siluInto, (x) => x / (1 + Math.exp(-x))],
  ['geluTanh', geluTanhInto, (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))],
  ['geluErf', geluErfInto, (x) => 0.5 * x * (1 + erf(x / Math.SQRT2))],
  ['quickGelu', quickGeluInto, (x) => x / (1 + Math.exp(-1.702 * x))],
];

describe('elementwise', () => {
  test.prop([values], PROP)('unary activations equal their textbook formulas (also in place)', (x) => {
    for (const [name, into, formula] of unary) {
      const out = new Float32Array(x.length);
      into(out, x);
      for (let i = 0; i < x.length; i++) {
        const want = formula(x[i]);
        expect(Math.abs(out[i] - want), `${name}(${x[i]})`).toBeLessThanOrEqual(1e-6 * Math.abs(want) + 1e-30);
      }
      const inPlace = Float32Array.from(x);
      into(inPlace, inPlace);
      expect(Array.from(inPlace)).toEqual(Array.from(out));
    }
  });

  test.prop([values, fc.float({ noNaN: true, min: -4, max: 4 })], PROP)('add, mul, scale, clamp match the scalar ops', (a, s) => {
    const b = a.map((v) => v * 0.5 - 1);
    const out = new Float32Array(a.length);
    addInto(out, a, b);
    expect(Array.from(out)).toEqual(Array.from(a, (v, i) => Math.fround(v + b[i])));
    mulInto(out, a, b);
    expect(Array.from(out)).toEqual(Array.from(a, (v, i) => Math.fround(v * b[i])));
    scaleInto(out, a, s);
    expect(Array.from(out)).toEqual(Array.from(a, (v) => Math.fround(v * s)));
    clampInto(out, a, -1, 2);
    expect(Array.from(out)).toEqual(Array.from(a, (v) => Math.min(Math.max(v, -1), 2)));
  });

  it('erf matches tabulated values to double precision and is odd', () => {
    const table: [number, number][] = [
      [0, 0], [0.1, 0.1124629160182849], [0.5, 0.5204998778130465], [1, 0.8427007929497149],
      [2, 0.9953222650189527], [2.9, 0.9999589021219005], [3, 0.9999779095030014], [4, 0.9999999845827421], [7, 1],
    ];
    for (const [x, want] of table) {
      expect(Math.abs(erf(x) - want)).toBeLessThanOrEqual(2e-15);
      expect(erf(-x)).toBe(-erf(x));
    }
  });

  it('activations stay finite and saturate at extreme inputs', () => {
    expect(sigmoid(-1000)).toBe(0);
    expect(sigmoid(1000)).toBe(1);
    expect(geluErf(-40)).toBeCloseTo(0, 12);
    expect(geluTanh(40)).toBe(40);
    expect(quickGelu(-1000)).toBeCloseTo(0, 12);
    expect(Math.abs(geluErf(1) - geluTanh(1))).toBeLessThan(1e-3); // the tanh form approximates erf
  });

  it('rejects mismatched lengths with ShapeError', () => {
    expect(() => addInto(new Float32Array(2), new Float32Array(2), new Float32Array(3))).toThrow(ShapeError);
    expect(() => siluInto(new Float32Array(2), new Float32Array(1))).toThrow(ShapeError);
  });
});
