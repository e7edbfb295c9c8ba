import { describe, expect } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { createRng, fillUniform } from '@phi3/tensor';
import {
  allowedKeyBlocksInto, countVisitedBlocks, isAllowed, isKeyBlockAllowed,
  maxAllowedKeyBlocks, type AttentionDims, type BlocksparseLayout,
} from '../../src/layers/blocksparse.ts';
import { blocksparseAttentionInto } from '../../src/layers/blocksparse-kernel.ts';
import { blocksparseMask, denseMaskedAttentionRefInto } from '../../src/layers/blocksparse-reference.ts';
import { attentionInto } from '../../src/layers/attention.ts';

const SEED = { seed: 20261129 };

/** Deterministic uniform(−1, 1) values. */
function randomArray(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  fillUniform(out, createRng(seed), -1, 1);
  return out;
}

const layoutArb = fc.record({
  blockSize: fc.integer({ min: 1, max: 8 }),
  numLocalBlocks: fc.integer({ min: 1, max: 4 }),
  vertStride: fc.integer({ min: 1, max: 9 }),
  nKv: fc.integer({ min: 1, max: 3 }),
  groupSize: fc.integer({ min: 1, max: 4 }),
  homoHeadPattern: fc.boolean(),
}).map(({ nKv, groupSize, ...rest }): BlocksparseLayout & { Hkv: number } => ({
  ...rest, nHeads: nKv * groupSize, Hkv: nKv,
}));

function allowedList(layout: BlocksparseLayout, h: number, qb: number): number[] {
  const buf = new Int32Array(maxAllowedKeyBlocks(layout, qb));
  const n = allowedKeyBlocksInto(buf, layout, h, qb);
  return Array.from(buf.subarray(0, n));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('blocksparse pattern', () => {
  test('matches the closed form of fixtures/phi3small-notes.md §4.6 (tiny, hetero)', () => {
    const tiny: BlocksparseLayout = { blockSize: 4, numLocalBlocks: 2, vertStride: 2, nHeads: 8, homoHeadPattern: false };
    // vs 2, 8 heads, s = 1: even heads see the odd blocks, odd heads the even blocks (plus the local pair).
    expect(allowedList(tiny, 0, 9)).toEqual([1, 3, 5, 7, 8, 9]);
    expect(allowedList(tiny, 1, 9)).toEqual([0, 2, 4, 6, 8, 9]);
    expect(allowedList(tiny, 6, 9)).toEqual([1, 3, 5, 7, 8, 9]);
  });

  test('longrope-tiny (vs 8, 4 heads, s = 2) has stripes at 7, 5, 3, 1 (mod 8)', () => {
    const lr: BlocksparseLayout = { blockSize: 4, numLocalBlocks: 2, vertStride: 8, nHeads: 4, homoHeadPattern: false };
    expect([0, 1, 2, 3].map((h) => allowedList(lr, h, 12))).toEqual([
      [7, 11, 12], [5, 11, 12], [3, 11, 12], [1, 9, 11, 12],
    ]);
  });

  test('real layout: head h sees kb with (kb + h + 1) % 8 == 0 beyond the 16 local blocks', () => {
    const real: BlocksparseLayout = { blockSize: 64, numLocalBlocks: 16, vertStride: 8, nHeads: 32, homoHeadPattern: false };
    for (const h of [0, 5, 31]) {
      const stripes = allowedList(real, h, 100).filter((kb) => kb < 85);
      expect(stripes.length).toBeGreaterThan(0);
      for (const kb of stripes) expect((kb + h + 1) % 8).toBe(0);
      expect(allowedList(real, h, 100).filter((kb) => kb >= 85)).toEqual(Array.from({ length: 16 }, (_, i) => 85 + i));
    }
  });

  test('homo pattern gives every head the stripes of head 0', () => {
    const homo: BlocksparseLayout = { blockSize: 4, numLocalBlocks: 2, vertStride: 3, nHeads: 6, homoHeadPattern: true };
    for (let h = 0; h < 6; h++) expect(allowedList(homo, h, 13)).toEqual([2, 5, 8, 11, 12, 13]);
  });

  test.prop([layoutArb, fc.integer({ min: 0, max: 60 })], SEED)(
    'allowedKeyBlocksInto lists exactly the allowed blocks, ascending, within the bound',
    (layout, qb) => {
      for (let h = 0; h < layout.nHeads; h++) {
        const expected: number[] = [];
        for (let kb = 0; kb <= qb + 2; kb++) if (isKeyBlockAllowed(layout, h, qb, kb)) expected.push(kb);
        expect(allowedList(layout, h, qb)).toEqual(expected);
        expect(expected.length).toBeLessThanOrEqual(maxAllowedKeyBlocks(layout, qb));
      }
    },
  );

  test.prop([layoutArb, fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 50 })], SEED)(
    'the token mask is causal, always allows the diagonal, and is token-causal inside the own block',
    (layout, p, j) => {
      for (let h = 0; h < layout.nHeads; h++) {
        expect(isAllowed(layout, h, p, p)).toBe(true);
        if (j > p) expect(isAllowed(layout, h, p, j)).toBe(false);
        const sameBlock = Math.floor(j / layout.blockSize) === Math.floor(p / layout.blockSize);
        if (sameBlock) expect(isAllowed(layout, h, p, j)).toBe(j <= p);
      }
    },
  );

  test('visited blocks: counts agree with the predicate and the sparse share falls with length', () => {
    const small: BlocksparseLayout = { blockSize: 3, numLocalBlocks: 2, vertStride: 3, nHeads: 4, homoHeadPattern: false };
    let expected = 0;
    for (let h = 0; h < 4; h++) {
      for (let qb = 0; qb < 7; qb++) for (let kb = 0; kb <= qb; kb++) if (isKeyBlockAllowed(small, h, qb, kb)) expected++;
    }
    expect(countVisitedBlocks(small, 20)).toEqual({ sparse: expected, causal: 4 * 28, square: 4 * 49 });
    const real: BlocksparseLayout = { blockSize: 64, numLocalBlocks: 16, vertStride: 8, nHeads: 32, homoHeadPattern: false };
    const at4k = countVisitedBlocks(real, 4096);
    const at8k = countVisitedBlocks(real, 8192);
    expect(at8k.sparse / at8k.causal).toBeLessThan(at4k.sparse / at4k.causal);
  });
});

describe('blocksparseAttentionInto (sparse) vs denseMaskedAttentionRefInto', () => {
  const caseArb = fc.record({
    layout: layoutArb,
    Dh: fc.integer({ min: 1, max: 8 }),
    pos0: fc.integer({ min: 0, max: 40 }),
    T: fc.integer({ min: 1, max: 40 }),
    scale: fc.double({ min: 0.05, max: 2, noNaN: true }),
    seed: fc.integer(),
  });

  test.prop([caseArb], { ...SEED, numRuns: 150 })('agree for prefill and chunked calls at any cache offset', (c) => {
    const { layout, Dh, pos0, T, scale, seed } = c;
    const dims: AttentionDims = { T, pos0, H: layout.nHeads, Hkv: layout.Hkv, Dh };
    const S = pos0 + T;
    const q = randomArray(T * layout.nHeads * Dh, seed);
    // Two spare rows past S filled with NaN: neither kernel may read keys of future positions.
    const k = randomArray((S + 2) * layout.Hkv * Dh, seed + 1).fill(NaN, S * layout.Hkv * Dh);
    const v = randomArray((S + 2) * layout.Hkv * Dh, seed + 2).fill(NaN, S * layout.Hkv * Dh);
    const sparse = new Float32Array(q.length);
    const dense = new Float32Array(q.length);
    blocksparseAttentionInto(sparse, q, k, v, layout, dims, scale);
    denseMaskedAttentionRefInto(dense, q, k, v, blocksparseMask(layout, pos0, T), layout, dims, scale);
    expect(maxAbsDiff(sparse, dense)).toBeLessThan(1e-5);
  });

  test.prop([caseArb], { ...SEED, numRuns: 60 })(
    'prefill followed by single-token decodes from the cache equals one full pass',
    (c) => {
      const { layout, Dh, scale, seed } = c;
      const N = c.pos0 + c.T; // total tokens; prefill the first P, decode the rest one by one
      const P = Math.min(c.pos0, N - 1);
      const H = layout.nHeads;
      const q = randomArray(N * H * Dh, seed);
      const k = randomArray(N * layout.Hkv * Dh, seed + 1);
      const v = randomArray(N * layout.Hkv * Dh, seed + 2);
      const full = new Float32Array(q.length);
      denseMaskedAttentionRefInto(full, q, k, v, blocksparseMask(layout, 0, N), layout, { T: N, pos0: 0, H, Hkv: layout.Hkv, Dh }, scale);

      const incremental = new Float32Array(q.length);
      const row = H * Dh;
      if (P > 0) blocksparseAttentionInto(incremental, q, k, v, layout, { T: P, pos0: 0, H, Hkv: layout.Hkv, Dh }, scale);
      for (let p = P; p < N; p++) {
        // The cache holds keys 0..p (k/v rows beyond p exist but must not be read).
        const out = incremental.subarray(p * row, (p + 1) * row);
        blocksparseAttentionInto(out, q.subarray(p * row, (p + 1) * row), k, v, layout, { T: 1, pos0: p, H, Hkv: layout.Hkv, Dh }, scale);
      }
      expect(maxAbsDiff(incremental, full)).toBeLessThan(1e-5);
    },
  );

  test.prop([caseArb], { ...SEED, numRuns: 80 })(
    'never reads a key or value the pattern forbids (those are NaN here)',
    (c) => {
      // One kv head per query head so that every (key, head) pair can be poisoned on its own.
      const layout = { ...c.layout, Hkv: c.layout.nHeads };
      const { Dh, pos0, T, scale, seed } = c;
      const H = layout.nHeads;
      const S = pos0 + T;
      const dims: AttentionDims = { T, pos0, H, Hkv: H, Dh };
      const q = randomArray(T * H * Dh, seed);
      const k = randomArray(S * H * Dh, seed + 1);
      const v = randomArray(S * H * Dh, seed + 2);
      const expected = new Float32Array(q.length);
      denseMaskedAttentionRefInto(expected, q, k, v, blocksparseMask(layout, pos0, T), layout, dims, scale);
      for (let h = 0; h < H; h++) {
        for (let j = 0; j < S; j++) {
          let needed = false;
          for (let t = 0; t < T && !needed; t++) needed = isAllowed(layout, h, pos0 + t, j);
          if (!needed) {
            k.fill(NaN, (j * H + h) * Dh, (j * H + h + 1) * Dh);
            v.fill(NaN, (j * H + h) * Dh, (j * H + h + 1) * Dh);
          }
        }
      }
      const sparse = new Float32Array(q.length);
      blocksparseAttentionInto(sparse, q, k, v, layout, dims, scale);
      expect(maxAbsDiff(sparse, expected)).toBeLessThan(1e-5);
    },
  );
  test.prop([caseArb], { ...SEED, numRuns: 60 })(
    'agrees with the shared masked attention (layers/attention.ts) given the same token mask',
    (c) => {
      const { layout, Dh, pos0, T, scale, seed } = c;
      const H = layout.nHeads;
      const S = pos0 + T;
      const q = randomArray(T * H * Dh, seed);
      const k = randomArray(S * layout.Hkv * Dh, seed + 1);
      const v = randomArray(S * layout.Hkv * Dh, seed + 2);
      const sparse = new Float32Array(q.length);
      const shared = new Float32Array(q.length);
      blocksparseAttentionInto(sparse, q, k, v, layout, { T, pos0, H, Hkv: layout.Hkv, Dh }, scale);
      attentionInto(shared, q, k, v, pos0, T, { nHeads: H, nKvHeads: layout.Hkv, headDim: Dh }, scale, {
        window: null, allows: (h, i, j) => isAllowed(layout, h, i, j),
      });
      expect(maxAbsDiff(sparse, shared)).toBeLessThan(1e-5); // the shared kernel rounds scores to f32
    },
  );
});
