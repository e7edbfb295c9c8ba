// Token quads for the prefill tiles (quant-tiles.ts): rows of 32-bit words, one row per token,
// rearranged so that the same word of four consecutive tokens lies in one 16-byte vector:
//   dst[q][w][j] = src[4q + j][w]     (q < quads, w < words, j < 4)
// Four words at a time by a 4×4 transpose, the last words % 4 one by one.
import type { FunctionSource } from '../assembler.ts';
import { advance, advanceBy, countDown, transposeStore } from './snippets.ts';

const rows = [0, 1, 2, 3];

/** Copies the word at $s of each of the four rows to $d, $d + 4, $d + 8, $d + 12. */
const wordByWord = rows.map((j) => `
        local.get $d
        local.get $s
        local.get $rowBytes
        i32.const ${j}
        i32.mul
        i32.add
        i32.load
        i32.store offset=${4 * j}`).join('');

/**
 * `interleave_quads($src, $quads, $words, $dst)`: byte offsets of src [4 · quads rows, words] and
 * dst [quads, words, 4] (32-bit words; the caller pads src to whole quads); quads ≥ 1.
 */
export const interleaveQuads: FunctionSource = {
  name: 'interleave_quads',
  params: [['$src', 'i32'], ['$quads', 'i32'], ['$words', 'i32'], ['$dst', 'i32']],
  locals: [['$rowBytes', 'i32'], ['$s', 'i32'], ['$d', 'i32'], ['$w', 'i32'], ...rows.map((j) => [`$r${j}`, 'v128'] as const), ['$t01', 'v128'], ['$t23', 'v128']],
  body: `
  local.get $words
  i32.const 2
  i32.shl
  local.set $rowBytes
  local.get $dst
  local.set $d
  loop $quad
    local.get $src
    local.set $s
    local.get $words
    local.set $w
    block $vectorsDone
      loop $vectors                    ;; four words of the four rows: one 4×4 transpose
        local.get $w
        i32.const 4
        i32.lt_u
        br_if $vectorsDone${rows.map((j) => `
        local.get $s
        local.get $rowBytes
        i32.const ${j}
        i32.mul
        i32.add
        v128.load
        local.set $r${j}`).join('')}${transposeStore('$d', 0)}
        ${advance('$s', 16)}
        ${advance('$d', 64)}
        ${advance('$w', -4)}
        br $vectors
      end
    end
    block $wordsDone
      loop $lastWords                  ;; the last words % 4
        local.get $w
        i32.eqz
        br_if $wordsDone${wordByWord}
        ${advance('$s', 4)}
        ${advance('$d', 16)}
        ${countDown('$w', '$lastWords')}
      end
    end
    ${advanceBy('$src', '$rowBytes', 2)}  ;; the next four rows
    ${countDown('$quads', '$quad')}
  end`,
};
