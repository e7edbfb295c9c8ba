// Q8_0 / Q4_0 products in SIMD128 over row-group storage (quant/row-groups.ts), for decode:
//   Y[t, r] = Σ_b d_w[r, b] · d_x[t, b] · (Σ_j q_w[r, 32b + j] · q_x[t, 32b + j])
// One pass computes the four rows of a group for one token, reading the group as one sequential
// stream. Per block: each row's inner Σ is an exact integer dot (`i32x4.dot_i16x8_s` of the weight
// codes widened to i16 against the int16 activation codes of quantize-x.ts), giving four i32x4 partial
// sums; a 4×4 transpose-add turns them into one i32x4 holding the four rows' block dots, which is
// converted and scaled by the four rows' scales at once (the f16 scales convert to f32 in one vector
// op), and accumulated in one f32x4 whose lanes are the four outputs. No horizontal sums, one store.
//
// Groups are taken CHUNK_GROUPS at a time and every token passes over a chunk while it is in L2, so
// the weights stream from memory once per call, not once per token (a few tokens; prefill runs the
// tiles of quant-tiles.ts). Q4_0 × int8 (relaxed SIMD) keeps the transpose-add in i16 (code-layouts.ts).
import type { FunctionSource } from '../assembler.ts';
import { ROW_GROUP } from '../../quant/row-groups.ts';
import { Q4_0_I8_LAYOUT, Q4_0_LAYOUT, Q8_0_LAYOUT, type CodeLayout, type StraightCodeLayout } from './code-layouts.ts';
import {
  advance, CHUNK_ROWS, chunksForEveryToken, countDown, f16VectorConstants, f16x4ToF32x4, HIGH_64, LOW_64, pairSum, storeGroupOutputs, ZIP_HIGH_32, ZIP_LOW_32,
} from './snippets.ts';

/** Groups per chunk (CHUNK_ROWS rows, ≈ 52 KiB of Q8_0 at phi-3-mini's width). */
const CHUNK_GROUPS = CHUNK_ROWS / ROW_GROUP;

/** A block's four row dots into $r0 … $r3, straight-line: the activations in $xv0 …, then each row's rowDot. */
function straightBlock(layout: StraightCodeLayout): string {
  return `${[...Array(layout.xBlockBytes / 16).keys()].map((k) => `
          local.get $q
          v128.load offset=${16 * k}
          local.set $xv${k}`).join('')}${[0, 1, 2, 3].map((i) => `
          ${layout.rowDot('$pb', i)}
          local.set $r${i}`).join('')}`;
}

/**
 * A block's four row dots into $r0 … $r3 as a loop over slices of the codes (CodeLayout.slices,
 * count ≥ 2): the first slice sets the dots, the loop adds the rest (4 fewer adds a block than zeroing
 * first: Q8_0 decode 26.5 → 27.5 GB/s from DRAM, 28 → 29.6 from cache).
 */
function slicedBlock(slices: NonNullable<CodeLayout['slices']>): string {
  /** One slice: the activations at $pq, each row's dot added into $r{i} (or, for the first, set). */
  const slice = (first: boolean): string => `
            local.get $pq
            v128.load
            local.set $xv0             ;; one slice of the activations${[0, 1, 2, 3].map((i) => `
            ${slices.rowSliceDot(i)}${first ? '' : `
            local.get $r${i}
            i32x4.add`}
            local.set $r${i}`).join('')}
            ${advance('$pq', slices.xBytes)}
            ${advance('$pk', slices.codeBytes)}`;
  return `
          local.get $q
          local.set $pq
          local.get $pb
          local.set $pk${slice(true)}
          i32.const ${slices.count - 1}
          local.set $k
          loop $slice${slice(false)}
            ${countDown('$k', '$slice')}
          end`;
}

/** One group (four rows at $p) against token $t: stores Y[$t, 4$i … 4$i + 3]. */
function groupPass(layout: CodeLayout): string {
  const add = layout.partialSums === 'i16' ? 'i16x8.add' : 'i32x4.add';
  return `
        f32.const 0
        f32x4.splat
        local.set $acc
        local.get $p
        local.set $pb
        local.get $xq
        local.get $t
        local.get $xqStride
        i32.mul
        i32.add
        local.set $q                   ;; token t's codes
        local.get $xs
        local.get $t
        local.get $xsStride
        i32.mul
        i32.add
        local.set $s                   ;; token t's (scale, 8 Σ codes) pairs
        local.get $blocks
        local.set $b
        loop $block${layout.slices === undefined ? straightBlock(layout) : slicedBlock(layout.slices)}
          ${pairSum('$r0', '$r1', ZIP_LOW_32, ZIP_HIGH_32, add)}
          local.set $sum01                ;; [r0 lanes 0+2, r1 lanes 0+2, r0 lanes 1+3, r1 lanes 1+3]
          ${pairSum('$r2', '$r3', ZIP_LOW_32, ZIP_HIGH_32, add)}
          local.set $r0                   ;; the same for rows 2 and 3
          ${pairSum('$sum01', '$r0', LOW_64, HIGH_64, add)}${layout.partialSums === 'i16' ? `
          i32x4.extadd_pairwise_i16x8_s  ;; each i32 lane held its row's total as two i16 halves` : ''}
          ;; [block dot of row 0, row 1, row 2, row 3]${layout.offset ? `
          local.get $s
          v128.load32_splat offset=4
          i32x4.sub                      ;; minus 8 Σ q_x: the nibbles' +8` : ''}
          f32x4.convert_i32x4_s
          ${f16x4ToF32x4('$pb')}
          local.get $s
          v128.load32_splat
          f32x4.mul                      ;; d_w · d_x for the four rows
          f32x4.mul
          local.get $acc
          f32x4.add
          local.set $acc
          ${advance('$pb', layout.groupBlockBytes)}
          ${advance('$q', layout.xBlockBytes)}
          ${advance('$s', 8)}
          ${countDown('$b', '$block')}
        end${storeGroupOutputs('$acc')}`;
}

function quantGroups(layout: CodeLayout): FunctionSource {
  return {
    name: `${layout.name}_groups`,
    params: [
      ['$w', 'i32'], ['$groups', 'i32'], ['$blocks', 'i32'], ['$xq', 'i32'], ['$xs', 'i32'], ['$y', 'i32'], ['$tokens', 'i32'], ['$yStride', 'i32'],
    ],
    locals: [
      ['$groupBytes', 'i32'], ['$xqStride', 'i32'], ['$xsStride', 'i32'], ['$n', 'i32'], ['$t', 'i32'], ['$i', 'i32'],
      ['$p', 'i32'], ['$pb', 'i32'], ['$q', 'i32'], ['$s', 'i32'], ['$b', 'i32'],
      ['$xv0', 'v128'], ['$xv1', 'v128'], ['$xv2', 'v128'], ['$xv3', 'v128'],
      ['$pq', 'i32'], ['$pk', 'i32'], ['$k', 'i32'], ['$r0', 'v128'], ['$r1', 'v128'], ['$r2', 'v128'], ['$r3', 'v128'], ['$sum01', 'v128'], ['$acc', 'v128'],
      ['$packed', 'v128'], ['$half', 'v128'], ['$lowNibble', 'v128'], ['$f16Mask', 'v128'], ['$f16Rebias', 'v128'],
    ],
    body: `
  local.get $blocks
  i32.const ${layout.groupBlockBytes}
  i32.mul
  local.set $groupBytes
  local.get $blocks
  i32.const ${layout.xBlockBytes}
  i32.mul
  local.set $xqStride                  ;; one token's activation codes
  local.get $blocks
  i32.const 8
  i32.mul
  local.set $xsStride                  ;; one token's (scale, 8 Σ codes) pairs
  i32.const 15
  i8x16.splat
  local.set $lowNibble${f16VectorConstants}
  ${chunksForEveryToken('$groups', CHUNK_GROUPS, '$groupBytes', 4 * ROW_GROUP, groupPass(layout))}`,
  };
}

/**
 * `q8_0_groups($w, $groups, $blocks, $xq, $xs, $y, $tokens, $yStride)` and `q4_0_groups(...)`: byte
 * offsets of the row-group weights [groups · 4 rows, blocks], activation codes xq [tokens, 32·blocks]
 * i16 (i8 for q4_0_i8) and pairs xs [tokens, blocks] (quantize_x_i16 over all tokens at once), and Y (row t at
 * y + 4·t·yStride; columns [0, 4·groups) written, yStride ≥ 4·groups); blocks ≥ 1, tokens ≥ 1.
 */
export const q8_0Groups = quantGroups(Q8_0_LAYOUT);
export const q4_0Groups = quantGroups(Q4_0_LAYOUT);

/** `q4_0_i8_groups(...)`: Q4_0 against int8 activation codes (quantize_x_i8); needs relaxed SIMD. */
export const q4_0I8Groups = quantGroups(Q4_0_I8_LAYOUT);
