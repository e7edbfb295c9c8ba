import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { ShapeError } from '../../src/errors.ts';
import { gatherRowsInto, transposeInto } from '../../src/ops/movement.ts';
import { PROP, randomArray } from '../helpers.ts';

const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });

describe('movement', () => {
  test.prop([fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 }), seed], PROP)('transpose moves x[i, j] to out[j, i]; twice is the identity', (r, c, s) => {
    const x = randomArray(r * c, s);
    const t = new Float32Array(r * c);
    transposeInto(t, x, r, c);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) expect(t[j * r + i]).toBe(x[i * c + j]);
    const back = new Float32Array(r * c);
    transposeInto(back, t, c, r);
    expect(Array.from(back)).toEqual(Array.from(x));
  });

  test.prop([fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 7 }), fc.array(fc.nat(), { maxLength: 6 }), seed], PROP)(
    'gatherRows copies table row ids[t] to out row t', (V, D, rawIds, s) => {
      const table = randomArray(V * D, s);
      const ids = rawIds.map((i) => i % V);
      const out = new Float32Array(ids.length * D);
      gatherRowsInto(out, table, ids, D);
      ids.forEach((id, t) => expect(Array.from(out.subarray(t * D, (t + 1) * D))).toEqual(Array.from(table.subarray(id * D, (id + 1) * D))));
    });

  it('rejects out-of-range ids and bad shapes with ShapeError', () => {
    const table = new Float32Array(6);
    expect(() => gatherRowsInto(new Float32Array(3), table, [2], 3)).toThrow(ShapeError);
    expect(() => gatherRowsInto(new Float32Array(3), table, [-1], 3)).toThrow(ShapeError);
    expect(() => gatherRowsInto(new Float32Array(3), table, [0.5], 3)).toThrow(ShapeError);
    expect(() => gatherRowsInto(new Float32Array(4), table, [0], 4)).toThrow(ShapeError);
    expect(() => gatherRowsInto(new Float32Array(0), table, [0], 0)).toThrow(ShapeError);
    expect(() => transposeInto(new Float32Array(5), new Float32Array(6), 2, 3)).toThrow(ShapeError);
  });
});
