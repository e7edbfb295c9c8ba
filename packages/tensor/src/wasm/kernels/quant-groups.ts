// Q8_0 / Q4_0 products in SIMD128 over row-group storage (quant/row-groups.ts), decode and prefill:
//   Y[t, r] = Σ_b d_w[r, b] · d_x[t, b] · (Σ_j q_w[r, 32b + j] · q_x[t, 32b + j])
// One pass computes the four rows of a group for one token, reading the group as one sequential
// stream. Per block: each row's inner Σ is an exact integer dot (`i32x4.dot_i16x8_s` of the weight
// codes widened to i16 against the int16 activation codes of quantize-x.ts), giving four i32x4 partial
// sums; a 4×4 transpose-add turns them into one i32x4 holding the four rows' block dots, which is
// converted and scaled by the four rows' scales at once (the f16 scales convert to f32 in one vector
// op), and accumulated in one f32x4 whose lanes are the four outputs. No horizontal sums, one store.
//
// Groups are taken CHUNK_GROUPS at a time and every token passes over a chunk while it is in L2, so
// the weights stream from memory once per call, not once per token. The `_panels` variant (prefill)
// also unpacks each chunk once into a per-thread panel the tokens read; `_groups` (decode) unpacks
// as it goes. Q4_0 × int8 (relaxed SIMD) keeps the transpose-add in i16 (code-layouts.ts).
import type { FunctionSource } from '../assembler.ts';
import { ROW_GROUP } from '../../quant/row-groups.ts';
import { Q4_0_I8_LAYOUT, Q4_0_LAYOUT, Q8_0_LAYOUT, type CodeLayout } from './code-layouts.ts';
import {
  advance, CHUNK_ROWS, chunksForEveryToken, countDown, f16BitsToF32x4, f16VectorConstants, HIGH_64, LOW_64, pairSum, ZIP_HIGH_32, ZIP_LOW_32,
} from './snippets.ts';

/** Groups per prefill chunk (CHUNK_ROWS rows, ≈ 52 KiB of Q8_0 at phi-3-mini's width). */
const CHUNK_GROUPS = CHUNK_ROWS / ROW_GROUP;

/**
 * Pushes the four f16 scales at `p` as f32x4: each widened to an i32 lane, shifted left 16 and
 * arithmetically right 3 (sign to bit 31, exponent and mantissa to bits 27…13), then f16BitsToF32x4.
 * toRowGroupsInto refuses Inf/NaN scales, which this would make finite.
 */
const scalesF32x4 = (p: string): string => `
      local.get ${p}
      v128.load16x4_u
      i32.const 16
      i32x4.shl
      i32.const 3
      i32x4.shr_s${f16BitsToF32x4}`;

/** Where a group pass reads a block: the row-group bytes, or a prefill panel of unpacked codes. */
interface BlockSource {
  /** Pushes row i's partial sums for the block at $pb. */
  readonly rowDot: (i: number) => string;
  /** Pushes the block's four scales as f32x4. */
  readonly scales: string;
  readonly blockBytes: number;
}

const packedSource = (layout: CodeLayout): BlockSource => ({
  rowDot: (i) => layout.rowDot('$pb', i),
  scales: scalesF32x4('$pb'),
  blockBytes: layout.groupBlockBytes,
});

/** A panel block: the four scales as f32x4 (16 bytes), then each row's unpacked codes. */
const panelBlockBytes = (layout: CodeLayout): number => 16 + ROW_GROUP * layout.panelRowBytes;

const panelSource = (layout: CodeLayout): BlockSource => ({
  rowDot: (i) => layout.panelDot(16 + i * layout.panelRowBytes),
  scales: `
          local.get $pb
          v128.load`,
  blockBytes: panelBlockBytes(layout),
});

/** One group (four rows at $p) against token $t: stores Y[$t, 4$i … 4$i + 3]. */
function groupPass(layout: CodeLayout, source: BlockSource): string {
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
        loop $block
          ${[...Array(layout.xBlockBytes / 16).keys()].map((k) => `
          local.get $q
          v128.load offset=${16 * k}
          local.set $xv${k}`).join('')}
          ${source.rowDot(0)}
          local.set $d0
          ${source.rowDot(1)}
          local.set $d1
          ${pairSum('$d0', '$d1', ZIP_LOW_32, ZIP_HIGH_32, add)}
          local.set $sum01                ;; [r0 lanes 0+2, r1 lanes 0+2, r0 lanes 1+3, r1 lanes 1+3]
          ${source.rowDot(2)}
          local.set $d0
          ${source.rowDot(3)}
          local.set $d1
          ${pairSum('$d0', '$d1', ZIP_LOW_32, ZIP_HIGH_32, add)}
          local.set $d0                   ;; the same for rows 2 and 3
          ${pairSum('$sum01', '$d0', LOW_64, HIGH_64, add)}${layout.partialSums === 'i16' ? `
          i32x4.extadd_pairwise_i16x8_s  ;; each i32 lane held its row's total as two i16 halves` : ''}
          ;; [block dot of row 0, row 1, row 2, row 3]${layout.offset ? `
          local.get $s
          v128.load32_splat offset=4
          i32x4.sub                      ;; minus 8 Σ q_x: the nibbles' +8` : ''}
          f32x4.convert_i32x4_s
          ${source.scales}
          local.get $s
          v128.load32_splat
          f32x4.mul                      ;; d_w · d_x for the four rows
          f32x4.mul
          local.get $acc
          f32x4.add
          local.set $acc
          ${advance('$pb', source.blockBytes)}
          ${advance('$q', layout.xBlockBytes)}
          ${advance('$s', 8)}
          ${countDown('$b', '$block')}
        end
        local.get $y
        local.get $t
        local.get $yStride
        i32.mul
        local.get $i
        i32.const ${ROW_GROUP}
        i32.mul
        i32.add
        i32.const 2
        i32.shl
        i32.add
        local.get $acc
        v128.store                       ;; Y[t, 4i … 4i + 3]`;
}

/**
 * The prologue of a panels chunk: the chunk's n groups (n · blocks group blocks, consecutive in W)
 * unpacked into the panel — scales as f32x4, each row's codes as layout.widenRow stores them.
 */
function widenChunk(layout: CodeLayout): string {
  const rows = [...Array(ROW_GROUP).keys()];
  return `
      local.get $w
      local.set $pb
      local.get $panel
      local.set $pd
      local.get $n
      local.get $blocks
      i32.mul
      local.set $b
      loop $widen
        local.get $pd
        ${scalesF32x4('$pb')}
        v128.store${rows.map((i) => layout.widenRow('$pb', i, '$pd', 16 + i * layout.panelRowBytes)).join('')}
        ${advance('$pb', layout.groupBlockBytes)}
        ${advance('$pd', panelBlockBytes(layout))}
        ${countDown('$b', '$widen')}
      end`;
}

/**
 * `panels`: the prefill variant — each chunk of groups is unpacked once into a panel (scratch at
 * $panel, CHUNK_GROUPS · blocks · panelBlockBytes bytes per thread) that every token then reads, so the
 * per-token pass loads ready codes and f32 scales instead of unpacking them again.
 */
function quantGroups(layout: CodeLayout, panels = false): FunctionSource {
  const source = panels ? panelSource(layout) : packedSource(layout);
  return {
    name: `${layout.name}_${panels ? 'panels' : 'groups'}`,
    params: [
      ['$w', 'i32'], ['$groups', 'i32'], ['$blocks', 'i32'], ['$xq', 'i32'], ['$xs', 'i32'], ['$y', 'i32'], ['$tokens', 'i32'], ['$yStride', 'i32'],
      ...(panels ? [['$panel', 'i32'] as const] : []),
    ],
    locals: [
      ['$groupBytes', 'i32'], ['$xqStride', 'i32'], ['$xsStride', 'i32'], ['$n', 'i32'], ['$t', 'i32'], ['$i', 'i32'],
      ['$p', 'i32'], ['$pb', 'i32'], ['$q', 'i32'], ['$s', 'i32'], ['$b', 'i32'], ['$pd', 'i32'], ['$panelGroupBytes', 'i32'],
      ['$xv0', 'v128'], ['$xv1', 'v128'], ['$xv2', 'v128'], ['$xv3', 'v128'],
      ['$d0', 'v128'], ['$d1', 'v128'], ['$sum01', 'v128'], ['$acc', 'v128'],
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
  local.set $xsStride                  ;; one token's (scale, sum) pairs
  i32.const 15
  i8x16.splat
  local.set $lowNibble${f16VectorConstants}
  local.get $blocks
  i32.const ${panelBlockBytes(layout)}
  i32.mul
  local.set $panelGroupBytes
  ${chunksForEveryToken('$groups', CHUNK_GROUPS, '$groupBytes', 4 * ROW_GROUP, groupPass(layout, source),
    panels ? { prologue: widenChunk(layout), from: '$panel', step: '$panelGroupBytes' } : {})}`,
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

/** `q8_0_panels(..., $panel)`, `q4_0_panels`, `q4_0_i8_panels`: the same products for prefill, through a per-thread panel. */
export const q8_0Panels = quantGroups(Q8_0_LAYOUT, true);
export const q4_0Panels = quantGroups(Q4_0_LAYOUT, true);
export const q4_0I8Panels = quantGroups(Q4_0_I8_LAYOUT, true);

export type PanelFormat = 'q8_0' | 'q4_0' | 'q4_0_i8';

/** Bytes of one thread's prefill panel for rows of `blocks` blocks. */
export function panelBytes(format: PanelFormat, blocks: number): number {
  const layout = { q8_0: Q8_0_LAYOUT, q4_0: Q4_0_LAYOUT, q4_0_i8: Q4_0_I8_LAYOUT }[format];
  return CHUNK_GROUPS * blocks * panelBlockBytes(layout);
}
