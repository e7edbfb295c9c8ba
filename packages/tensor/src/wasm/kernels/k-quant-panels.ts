// K-quant prefill panels (quant-tiles.ts): GGUF rows, as stored, unpacked one 32-element block of four
// rows at a time into what the tiles read.
//   Q4_K, Q5_K: the four rows' d·sc and dmin·m / 8 as f32 (the 6-bit scales and mins unpacked as
//     ggml's `get_scale_min_k4` does), then their codes word-interleaved (one v128: the same 4 nibbles,
//     or for Q5_K 2 five-bit codes as i16, of the four rows).
//   Q6_K: the four rows' d·sc of the block's two 16-element sub-blocks as f32, then the codes q − 32
//     as i16, word-interleaved (one v128: the same 2 codes of the four rows).
import { blockFormat } from '../../quant/registry.ts';
import { ROW_GROUP } from '../../quant/row-groups.ts';
import { advance, advanceBy, countDown, f16ToF32, transposeStore } from './snippets.ts';

const rows = [...Array(ROW_GROUP).keys()];

/**
 * The loop nest of a K-quant chunk's unpacking: for each of its $n groups of four GGUF rows ($q0 … $q3
 * at the rows' super-block), for each super-block: `perSuperBlock` (the rows' f16 scales), then
 * `blocks` (the eight 32-element blocks into the panel at $pd); then the rows step `superBlockBytes`.
 * Uses i32 locals $w, $panel, $n, $blocks, $rowBytes, $pg, $gi, $pd, $b, $q0 … $q3.
 */
const overSuperBlocks = (superBlockBytes: number, perSuperBlock: string, blocks: string): string => `
      local.get $w
      local.set $pg
      local.get $panel
      local.set $pd
      local.get $n
      local.set $gi
      loop $widenGroups${rows.map((r) => `
        local.get $pg${r === 0 ? '' : `
        local.get $rowBytes
        i32.const ${r}
        i32.mul
        i32.add`}
        local.set $q${r}`).join('')}
        local.get $blocks
        i32.const 3
        i32.shr_u
        local.set $b                   ;; super-blocks
        loop $widenSuper${perSuperBlock}${blocks}${rows.map((r) => `
          ${advance(`$q${r}`, superBlockBytes)}`).join('')}
          ${countDown('$b', '$widenSuper')}
        end
        ${advanceBy('$pg', '$rowBytes', 2)}
        ${countDown('$gi', '$widenGroups')}
      end`;

/** Sets v128 local `name` to an i16x8 splat of `value`. */
const i16Constant = (name: string, value: number): string => `
      i32.const ${value}
      i16x8.splat
      local.set ${name}`;

/** Pushes the 6-bit scale (or min) of sub-block s of the Q4_K super-block at local q (ggml `get_scale_min_k4`). */
function kScaleOrMin(q: string, s: number, min: boolean): string {
  const byte = (at: number): string => `
          local.get ${q}
          i32.load8_u offset=${at}`;
  if (s < 4) return `${byte(min ? 8 + s : 4 + s)}
          i32.const 63
          i32.and`;
  return `${byte(8 + s)}${min ? `
          i32.const 4
          i32.shr_u` : `
          i32.const 15
          i32.and`}${byte(min ? 4 + s : s)}
          i32.const 6
          i32.shr_u
          i32.const 4
          i32.shl
          i32.or`;
}

/**
 * Pushes the i16x8 codes (0–31) of elements 8c … 8c + 7 of sub-block s of the Q5_K super-block at local
 * q: the low (s even) or high nibbles of 8 qs bytes, plus bit s of the 8 matching qh bytes as bit 4
 * (ggml-quants.c `dequantize_row_q5_K`). Needs v128 locals $low16 (i16 splat 15), $one16 (splat 1).
 */
function q5kCodes(q: string, s: number, c: number): string {
  return `
          local.get ${q}
          v128.load8x8_u offset=${48 + 32 * (s >> 1) + 8 * c}${s % 2 === 0 ? `
          local.get $low16
          v128.and` : `
          i32.const 4
          i16x8.shr_u`}
          local.get ${q}
          v128.load8x8_u offset=${16 + 8 * c}${s === 0 ? '' : `
          i32.const ${s}
          i16x8.shr_u`}
          local.get $one16
          v128.and
          i32.const 4
          i16x8.shl
          v128.or`;
}

/**
 * The prologue of a Q4_K or Q5_K chunk: its n groups of four GGUF rows ($rowBytes apart, from $w)
 * unpacked into the panel at $panel one 32-element sub-block at a time: the four rows' d·sc and
 * dmin·m / 8 as f32, then their codes word-interleaved — Q4_K's nibbles as bytes (sub-block s: the
 * low or high nibbles of bytes 32⌊s/2⌋ … + 31 of the codes), Q5_K's 5-bit codes as i16. Uses i32
 * locals $w, $panel, $n, $blocks (sub-blocks per row), $rowBytes, $pg, $gi, $pd, $b, $q0 … $q3; f32
 * $dk0 … $dk3, $mk0 … $mk3; v128 $r0 … $r3, $t01, $t23, $lowNibble (i8 splat 0x0f), $low16, $one16.
 */
export function widenQ45KChunk(format: 'q4_k' | 'q5_k'): string {
  /** Q4_K: two vectors of 16 nibbles per row; Q5_K: four vectors of 8 i16 codes. */
  const codeVectors = format === 'q4_k' ? 2 : 4;
  const rowVector = (r: number, s: number, v: number): string => format === 'q5_k' ? q5kCodes(`$q${r}`, s, v) : `
          local.get $q${r}
          v128.load offset=${16 + 32 * (s >> 1) + 16 * v}${s % 2 === 0 ? `
          local.get $lowNibble
          v128.and` : `
          i32.const 4
          i8x16.shr_u`}`;
  const subBlock = (s: number): string => `${rows.map((r) => `
          local.get $pd${kScaleOrMin(`$q${r}`, s, false)}
          f32.convert_i32_s
          local.get $dk${r}
          f32.mul
          f32.store offset=${4 * r}
          local.get $pd${kScaleOrMin(`$q${r}`, s, true)}
          f32.convert_i32_s
          local.get $mk${r}
          f32.mul
          f32.store offset=${16 + 4 * r}`).join('')}${[...Array(codeVectors).keys()].map((v) => `${rows.map((r) => `${rowVector(r, s, v)}
          local.set $r${r}`).join('')}${transposeStore('$pd', 32 + 64 * v)}`).join('')}
          ${advance('$pd', 32 + 64 * codeVectors)}`;
  const scales = rows.map((r) => `${f16ToF32(`$q${r}`, 0)}
          local.set $dk${r}${f16ToF32(`$q${r}`, 2)}
          f32.const 0.125
          f32.mul
          local.set $mk${r}              ;; dmin / 8: the sums are 8 Σ q_x`).join('');
  return `${i16Constant('$low16', 15)}${i16Constant('$one16', 1)}${overSuperBlocks(blockFormat(format).blockBytes, scales, [...Array(8).keys()].map(subBlock).join(''))}`;
}

/**
 * Pushes the i16x8 codes q − 32 of elements 32k + 8c … + 7 of the Q6_K super-block at local q (k < 8,
 * c < 4): the low or high nibbles of 8 ql bytes and a bit pair of 8 qh bytes (quant/q6_k.ts).
 * Needs v128 locals $low16 (i16 splat 15), $three16 (splat 3), $bias16 (splat 32).
 */
function q6kCodes(q: string, k: number, c: number): string {
  const [half, quarter] = [k >> 2, k & 3];
  return `
          local.get ${q}
          v128.load8x8_u offset=${64 * half + 32 * (quarter & 1) + 8 * c}${quarter < 2 ? `
          local.get $low16
          v128.and` : `
          i32.const 4
          i16x8.shr_u`}
          local.get ${q}
          v128.load8x8_u offset=${128 + 32 * half + 8 * c}
          i32.const ${2 * quarter}
          i16x8.shr_u
          local.get $three16
          v128.and
          i32.const 4
          i16x8.shl
          v128.or
          local.get $bias16
          i16x8.sub`;
}

/**
 * The prologue of a Q6_K chunk: its n groups of four GGUF rows ($rowBytes apart, from $w) unpacked
 * into the panel at $panel one 32-element block at a time (Q6_K_PANEL_BLOCK_BYTES each). Uses i32
 * locals $w, $panel, $n, $blocks, $rowBytes, $pg, $gi, $pd, $b, $q0 … $q3; f32 $dk0 … $dk3; v128
 * $r0 … $r3, $t01, $t23, $low16, $three16, $bias16.
 */
export function widenQ6KChunk(): string {
  const block = (k: number): string => `${rows.map((r) => [0, 1].map((h) => `
          local.get $pd
          local.get $q${r}
          i32.load8_s offset=${192 + 2 * k + h}
          f32.convert_i32_s
          local.get $dk${r}
          f32.mul
          f32.store offset=${16 * h + 4 * r}    ;; d · sc of sub-block ${2 * k + h}`).join('')).join('')}${[0, 1, 2, 3].map((c) => `${rows.map((r) => `${q6kCodes(`$q${r}`, k, c)}
          local.set $r${r}`).join('')}${transposeStore('$pd', 32 + 64 * c)}`).join('')}
          ${advance('$pd', 32 + 16 * 16)}`;
  const scales = rows.map((r) => `${f16ToF32(`$q${r}`, 208)}
          local.set $dk${r}`).join('');
  return `${i16Constant('$low16', 15)}${i16Constant('$three16', 3)}${i16Constant('$bias16', 32)}${overSuperBlocks(blockFormat('q6_k').blockBytes, scales, [...Array(8).keys()].map(block).join(''))}`;
}
