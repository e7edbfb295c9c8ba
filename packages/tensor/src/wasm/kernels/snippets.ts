// Instruction sequences shared by several kernels (text spliced into kernel bodies).
import { ROW_GROUP } from '../../quant/row-groups.ts';

/** Adds `by` (a constant) to i32 local `local`: the pointer and counter steps of every kernel loop. */
export const advance = (local: string, by: number): string => `
  local.get ${local}
  i32.const ${by}
  i32.add
  local.set ${local}`;

/** Subtracts `by` from i32 local `local` and branches to `label` while it is not zero: a loop's end. */
export const countDown = (local: string, label: string, by = 1): string => `
  local.get ${local}
  i32.const ${by}
  i32.sub
  local.tee ${local}
  br_if ${label}`;

/** Pushes the f32 sum of the four lanes of v128 local `acc` (lane order 0 + 1 + 2 + 3). */
export const horizontalSum = (acc: string): string => `
  local.get ${acc}
  f32x4.extract_lane 0
  local.get ${acc}
  f32x4.extract_lane 1
  f32.add
  local.get ${acc}
  f32x4.extract_lane 2
  f32.add
  local.get ${acc}
  f32x4.extract_lane 3
  f32.add`;

/** Byte offset of the 65536-entry f16 → f32 table in every kernel memory (region.ts fills it). */
export const F16_TABLE_OFFSET = 0;

/**
 * Pushes the f32 value of the little-endian f16 at byte address `addr` (a local) + `offset`, looked up in the
 * f32 table at F16_TABLE_OFFSET (as ggml does with `ggml_table_f32_f16` on CPUs without F16C): three
 * instructions instead of ~15 bit operations, and bit-identical to dtype.ts `f16ToF32`, which fills it.
 */
export const f16ToF32 = (addr: string, offset = 0): string => `
  local.get ${addr}
  i32.load16_u offset=${offset}
  i32.const 2
  i32.shl
  f32.load offset=${F16_TABLE_OFFSET}`;

/**
 * f16 → f32 four at a time without a table (WebAssembly has no f16 conversion): once the f16 bits
 * sit in an i32 lane with the sign at bit 31 and exponent/mantissa at bits 27…13 (callers shift them
 * there), clearing bits 30…28 and multiplying by 2^112 rebiases the exponent (15 → 127). Exact for
 * normal and subnormal f16; Inf/NaN come out finite, so placement refuses them. Needs v128 locals
 * $f16Mask and $f16Rebias, set by `f16VectorConstants`.
 */
export const f16VectorConstants = `
  i32.const ${0x8fffe000 | 0}
  i32x4.splat
  local.set $f16Mask
  f32.const ${2 ** 112}
  f32x4.splat
  local.set $f16Rebias`;

/** Pushes the f32x4 of positioned f16 bits on the stack (see f16VectorConstants). */
export const f16BitsToF32x4 = `
      local.get $f16Mask
      v128.and
      local.get $f16Rebias
      f32x4.mul`;

/**
 * Pushes the four f16 scales at local `p` as f32x4: each widened to an i32 lane, shifted left 16 and
 * arithmetically right 3 (sign to bit 31, exponent and mantissa to bits 27…13), then f16BitsToF32x4.
 * Placement (toRowGroupsInto) refuses Inf/NaN scales, which this would make finite.
 */
export const f16x4ToF32x4 = (p: string): string => `
      local.get ${p}
      v128.load16x4_u
      i32.const 16
      i32x4.shl
      i32.const 3
      i32x4.shr_s${f16BitsToF32x4}`;

/**
 * Pushes f32x4 of the four f16 in the low (`low`) or high half of v128 local `h`: sign-extended to
 * i32 and shifted left 13 (sign to bit 31, exponent and mantissa to bits 27…13), then f16BitsToF32x4.
 */
export const f16HalfToF32x4 = (h: string, low: boolean): string => `
          local.get ${h}
          i32x4.extend_${low ? 'low' : 'high'}_i16x8_s
          i32.const 13
          i32x4.shl${f16BitsToF32x4}`;

/** i8x16.shuffle lanes of the i32 zips: [a0 b0 a1 b1], [a2 b2 a3 b3], [a0 a1 b0 b1], [a2 a3 b2 b3]. */
export const ZIP_LOW_32 = '0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23';
export const ZIP_HIGH_32 = '8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31';
/**
 * 1.5 · 2²³: adding it to an f32 v with |v| ≤ 2²² rounds v to an integer (ties to even, as
 * f32x4.nearest does) in the low mantissa bits, so the sum's bits minus this constant's bits are
 * round(v) as an i32, and the sum minus the constant is round(v) as an f32: two cheap instructions
 * where f32x4.nearest + i32x4.trunc_sat_f32x4_s take ~8 on x86 (trunc_sat's NaN/overflow handling).
 */
export const ROUNDING_MAGIC = 12582912;

/** i8x16.shuffle lanes of one vector's i32 lanes reordered [2 3 0 1] and [1 0 3 2] (horizontal reductions). */
export const SWAP_64 = '8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7';
export const SWAP_32 = '4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11';
export const LOW_64 = '0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23';
export const HIGH_64 = '8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31';

/**
 * Pushes zipLow(a, b) + zipHigh(a, b) for v128 locals a, b (lanes: `lanes` pair of shuffles), added
 * as `add` (i32x4.add by default; i16x8.add sums pairs of i16 partial sums lane by lane). Two levels
 * of it are the 4×4 transpose-add that turns four rows' partial sums into one vector of row sums.
 */
export const pairSum = (a: string, b: string, low: string, high: string, add = 'i32x4.add'): string => `
      local.get ${a}
      local.get ${b}
      i8x16.shuffle ${low}
      local.get ${a}
      local.get ${b}
      i8x16.shuffle ${high}
      ${add}`;

/**
 * Stores the 4×4 transpose of the i32 lanes of v128 locals $r0 … $r3 at local `dst` + `at`: 64 bytes,
 * vector m = [r0[m], r1[m], r2[m], r3[m]]. Uses v128 locals $t01, $t23.
 */
export const transposeStore = (dst: string, at: number): string => {
  const half = (zip: string, m: number): string => `
      local.get $r0
      local.get $r1
      i8x16.shuffle ${zip}
      local.set $t01
      local.get $r2
      local.get $r3
      i8x16.shuffle ${zip}
      local.set $t23
      local.get ${dst}
      local.get $t01
      local.get $t23
      i8x16.shuffle ${LOW_64}
      v128.store offset=${at + 16 * m}
      local.get ${dst}
      local.get $t01
      local.get $t23
      i8x16.shuffle ${HIGH_64}
      v128.store offset=${at + 16 * (m + 1)}`;
  return half(ZIP_LOW_32, 0) + half(ZIP_HIGH_32, 2);
};

/**
 * Loads one byte of every 64-byte cache line of the `items` · `itemBytes` bytes (i32 locals) at i32
 * local `from`, and drops it: the prologue of a prefill chunk, before its unpacking reads the lines
 * again. Without it the unpacking has only the few lines in flight that its arithmetic leaves room for
 * (a chunk comes in at DRAM latency, ~3 GB/s); this loop has nothing else to wait on, so the core
 * issues as many misses as it can track and the chunk comes in at memory bandwidth. Uses i32 locals
 * $touch, $lines.
 */
export const touchLines = (from: string, items: string, itemBytes: string): string => `
      local.get ${from}
      local.set $touch
      local.get ${items}
      local.get ${itemBytes}
      i32.mul
      i32.const 63
      i32.add
      i32.const 6
      i32.shr_u
      local.set $lines                 ;; ≥ 1 (items, itemBytes ≥ 1)
      loop $touchLines
        local.get $touch
        i32.load8_u
        drop
        ${advance('$touch', 64)}
        ${countDown('$lines', '$touchLines')}
      end`;

/** Rows of W per chunk in the prefill kernels: small enough that a chunk stays in L2 while every token group passes over it. */
export const CHUNK_ROWS = 16;

/**
 * Pushes the byte address of Y[$t + k, chunk row $i + r] (row-major Y, $yStride floats per token) —
 * where the prefill kernels store each finished dot product. Uses locals $y, $i, $t, $yStride.
 */
export const outputAddress = (k: number, r = 0): string => `
      local.get $y
      local.get $i${r === 0 ? '' : `
      i32.const ${r}
      i32.add`}
      i32.const 2
      i32.shl
      i32.add
      local.get $t
      i32.const ${k}
      i32.add
      local.get $yStride
      i32.mul
      i32.const 2
      i32.shl
      i32.add                          ;; &Y[t + ${k}, chunk row i + ${r}]`;

/**
 * Stores v128 local `acc` at Y[$t + k, 4($i + g) … 4($i + g) + 3] (ROW_GROUP = 4) — where the row-group kernels
 * (quant-groups.ts, quant-tiles.ts) put a group's four outputs for one token. Uses locals $y, $t, $i, $yStride.
 */
export const storeGroupOutputs = (acc: string, k = 0, g = 0): string => `
        local.get $y
        local.get $t${k === 0 ? '' : `
        i32.const ${k}
        i32.add`}
        local.get $yStride
        i32.mul
        local.get $i
        i32.const ${ROW_GROUP}
        i32.mul
        i32.add
        i32.const 2
        i32.shl
        i32.add
        local.get ${acc}
        v128.store${g === 0 ? '' : ` offset=${16 * g}`}                     ;; Y[t + ${k}, 4(i + ${g}) … 4(i + ${g}) + 3]`;

/**
 * Pushes the byte address of f32 element [row, column] of a row-major matrix at i32 local `base`:
 * base + 4 · (row · rowFloats + column). `row` is an i32 local; `rowFloats` and `column` are an i32
 * local (`$name`) or instructions that push the value, and `column` may be omitted for column 0.
 */
export const f32Address = (base: string, row: string, rowFloats: string, column?: string): string => {
  const push = (v: string): string => (v.startsWith('$') ? `
        local.get ${v}` : v);
  return `
        local.get ${base}
        local.get ${row}${push(rowFloats)}
        i32.mul${column === undefined ? '' : `${push(column)}
        i32.add`}
        i32.const 2
        i32.shl
        i32.add`;
};

/** Adds `count` (an i32 local) · 2^`shift` to i32 local `local`: a pointer step of a run-time size. */
export const advanceBy = (local: string, count: string, shift: number): string => `
  local.get ${local}
  local.get ${count}
  i32.const ${shift}
  i32.shl
  i32.add
  local.set ${local}`;

/** Runs `body` for $t = 0 … $tokens − 1 ($tokens ≥ 1; body leaves $t unchanged). */
export const forEachToken = (body: string): string => `
      i32.const 0
      local.set $t
      loop $tokenLoop                  ;; every token
        ${body}
        local.get $t
        i32.const 1
        i32.add
        local.tee $t
        local.get $tokens
        i32.lt_u
        br_if $tokenLoop
      end`;

/** Optional parts of chunksForEveryToken: a per-chunk prologue, and where $p walks (from, step: i32 locals). */
export interface ChunkWalk {
  readonly prologue?: string;
  readonly from?: string;
  readonly step?: string;
}

/** An item pass for four tokens $t … $t + 3 at once, and one for a single token $t (the last tokens % 4). */
export interface TokenTiles {
  readonly four: string;
  readonly one: string;
}

/** Token tiles over two items at once ($i, $i + 1: while two are left in the chunk), and over one (the last of an odd $n). */
export interface ItemPairTiles {
  readonly two: TokenTiles;
  readonly one: TokenTiles;
}

/** Runs `four` for $t = 0, 4, 8, … while $t + 4 ≤ $tokens, then `one` for each remaining $t (both leave $t unchanged). */
const forTokensInFours = (four: string, one: string): string => `
      i32.const 0
      local.set $t
      block $foursDone
        loop $fours                    ;; four tokens per pass
          local.get $tokens
          local.get $t
          i32.sub
          i32.const 4
          i32.lt_u
          br_if $foursDone
          ${four}
          local.get $t
          i32.const 4
          i32.add
          local.set $t
          br $fours
        end
      end
      block $tailDone
        loop $tail                     ;; the last tokens % 4, one per pass
          local.get $t
          local.get $tokens
          i32.ge_u
          br_if $tailDone
          ${one}
          local.get $t
          i32.const 1
          i32.add
          local.set $t
          br $tail
        end
      end`;

/**
 * W's items (rows or row groups) `chunk` at a time: `perChunk` runs with $n = min(items left, chunk),
 * then $w advances by $n items of `itemBytes` (an i32 local) and $y by $n · `yBytesPerItem`. `count`
 * (an i32 local: items left) counts down. Uses locals $n, $w, $y.
 */
const chunkLoop = (count: string, chunk: number, itemBytes: string, yBytesPerItem: number, perChunk: string): string => `
  block $done
    loop $chunks
      local.get ${count}
      i32.eqz
      br_if $done
      local.get ${count}
      i32.const ${chunk}
      local.get ${count}
      i32.const ${chunk}
      i32.lt_u
      select
      local.set $n                     ;; n = min(items left, ${chunk})
      ${perChunk}
      local.get $w
      local.get $n
      local.get ${itemBytes}
      i32.mul
      i32.add
      local.set $w
      local.get $y
      local.get $n
      i32.const ${yBytesPerItem}
      i32.mul
      i32.add
      local.set $y
      local.get ${count}
      local.get $n
      i32.sub
      local.set ${count}
      br $chunks
    end
  end`;

/**
 * The loop nest of the f32 prefill kernel: W's rows in chunks of CHUNK_ROWS; within a chunk (after an
 * optional `prologue`), four tokens per pass (`four`), then the remaining tokens % 4 one per pass
 * (`one`); both read $n and $t and must leave them unchanged. Uses locals $rows, $n, $t, $tokens, $w,
 * $y (i32).
 */
export const rowChunksOverTokens = (four: string, one: string, rowBytes: string, prologue = ''): string =>
  chunkLoop('$rows', CHUNK_ROWS, rowBytes, 4, `${prologue}${forTokensInFours(four, one)}`);

/**
 * The loop nest of the kernels that pass every token over a chunk of weights while it is in L2
 * (quant-groups.ts, quant-tiles.ts, f16.ts): items (rows or row groups) `chunk` at a time; within a
 * chunk, tokens $t = 0 … $tokens − 1, and for each, items $i = 0 … $n − 1 with $p at the item's
 * weights. `item` runs once per (token, item) and must leave $t, $i, $n, $p unchanged. Given as
 * ItemPairTiles, the loops swap: for each pair of items $i, $i + 1 (then the last item when $n is
 * odd), `four` runs once per four tokens and `one` once per token of the last tokens % 4.
 * After a chunk, $w advances by $n items of `itemBytes` (an i32 local) and $y by $n · `yBytesPerItem`.
 * `count` (an i32 local: items left) counts down. Uses locals $n, $t, $i, $p, $w, $y, $tokens;
 * tokens ≥ 1. `walk` can run a prologue per chunk and walk $p over a copy of the chunk instead (the
 * prefill panels).
 */
export const chunksForEveryToken = (
  count: string, chunk: number, itemBytes: string, yBytesPerItem: number, item: string | ItemPairTiles, walk: ChunkWalk = {},
): string => {
  const step = walk.step ?? itemBytes;
  const nextItems = (k: number): string => `
          local.get $p
          local.get ${step}${k === 2 ? `
          i32.const 1
          i32.shl` : ''}
          i32.add
          local.set $p
          local.get $i
          i32.const ${k}
          i32.add
          local.set $i`;
  const overItems = (pass: string): string => `
        i32.const 0
        local.set $i
        local.get ${walk.from ?? '$w'}
        local.set $p
        loop $itemLoop
          ${pass}${nextItems(1)}
          local.get $i
          local.get $n
          i32.lt_u
          br_if $itemLoop
        end`;
  // tiles: the items outside, so their weights stay in L1 while every token passes over them
  const overItemPairs = ({ two, one }: ItemPairTiles): string => `
        i32.const 0
        local.set $i
        local.get ${walk.from ?? '$w'}
        local.set $p
        block $pairsDone
          loop $pairs                  ;; two items per pass
            local.get $n
            local.get $i
            i32.sub
            i32.const 2
            i32.lt_u
            br_if $pairsDone
            ${forTokensInFours(two.four, two.one)}${nextItems(2)}
            br $pairs
          end
        end
        block $lastDone
          local.get $i
          local.get $n
          i32.ge_u
          br_if $lastDone              ;; $n was even
          ${forTokensInFours(one.four, one.one)}
        end`;
  const tokens = typeof item === 'string' ? forEachToken(overItems(item)) : overItemPairs(item);
  return chunkLoop(count, chunk, itemBytes, yBytesPerItem, `${walk.prologue ?? ''}${tokens}`);
};

/** Zeroes v128 locals $acc0 … $acc{n−1}. */
export const zeroAccumulators = (n: number): string => [...Array(n).keys()].map((a) => `
      f32.const 0
      f32x4.splat
      local.set $acc${a}`).join('');

/** Pushes ($acc0 + $acc1) + ($acc2 + $acc3) (f32x4): four accumulators folded in a fixed order. */
export const foldAccumulators4 = `
      local.get $acc0
      local.get $acc1
      f32x4.add
      local.get $acc2
      local.get $acc3
      f32x4.add
      f32x4.add`;

/** $acc{k} += f32x4 at `a` + 16k times f32x4 at `b` + 16k, for k < 4 (16 floats; a, b: i32 locals). */
export const mulAdd16 = (a: string, b: string): string => [0, 1, 2, 3].map((k) => `
        local.get ${a}
        v128.load offset=${16 * k}
        local.get ${b}
        v128.load offset=${16 * k}
        f32x4.mul
        local.get $acc${k}
        f32x4.add
        local.set $acc${k}`).join('');
