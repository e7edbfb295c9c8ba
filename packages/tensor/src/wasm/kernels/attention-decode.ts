// Attention for one query token (decode), key by key rather than head by head. attn_tokens (attention.ts)
// walks each head's keys down the cache: rows are kvStride floats apart, so every head slice is a fresh
// cache miss that the hardware prefetcher cannot see coming, and a token far into a long context
// waits on memory (phi-3-mini 512 positions in: 0.85 ms per layer from DRAM, 0.3 from cache). Here
// the cache is read in its own order — row j0, then j0 + 1, … — each row's head slices one after
// another, which the prefetcher streams (0.53 ms per layer from DRAM):
//   scores   S[h][j] = scale · q[h] · K[j, g(h)]   for every key j, then every head h of this thread
//   softmax  per head, the same snippet as attn_tokens
//   values   O[h] += P[h][j] · V[j, g(h)]           for every key j, then every head, O in memory (L1)
// Every sum is taken in the same order as attn_tokens, so for one token the two kernels give the same
// bits (tested).
import type { FunctionSource } from '../assembler.ts';
import { ATTENTION_FIELDS, loadAttentionArgs, SCORE_PADDING, softmax, storeScore, visibleKeys } from './attention.ts';
import { EXP_LOCALS } from './exp.ts';
import { advance, advanceBy, countDown } from './snippets.ts';

/** Per-thread scratch of attn_decode, in floats, for `heads` heads and n visible keys: 1 / Σ per head, then each head's scores. */
export function decodeScratchFloats(heads: number, n: number): number {
  return roundUp4(heads) + heads * scoreStride(n);
}

/** Floats between two heads' scores: n, the −∞ pads, rounded up to whole f32x4. */
const scoreStride = (n: number): number => roundUp4(n + SCORE_PADDING);
const roundUp4 = (n: number): number => Math.ceil(n / 4) * 4;

/** Steps $kvOff to the next kv head after every `group` query heads ($inGroup counts them). */
const nextHead = `
          local.get $inGroup
          i32.const 1
          i32.add
          local.tee $inGroup
          local.get $group
          i32.eq
          local.set $step                 ;; 1 when the group is complete
          local.get $kvOff
          local.get $step
          local.get $dhBytes
          i32.mul
          i32.add
          local.set $kvOff                ;; then the next kv head …
          i32.const 0
          local.get $inGroup
          local.get $step
          select
          local.set $inGroup              ;; … and a new count`;

/** Runs `body` for heads h0 … h1 − 1 with $psh on the head's score (from $ps), $qh / $oh on its q / O row, $kvOff on its kv head. */
const forEachHead = (body: string): string => `
        local.get $h0
        local.set $h
        local.get $ps
        local.set $psh
        local.get $q0
        local.set $qh
        local.get $o0
        local.set $oh
        local.get $kvOff0
        local.set $kvOff
        local.get $inGroup0
        local.set $inGroup
        loop $heads${body}
          local.get $psh
          local.get $sStride
          i32.add
          local.set $psh
          local.get $qh
          local.get $dhBytes
          i32.add
          local.set $qh
          local.get $oh
          local.get $dhBytes
          i32.add
          local.set $oh${nextHead}
          ${advance('$h', 1)}
          local.get $h
          local.get $h1
          i32.lt_u
          br_if $heads
        end`;

/** S[h][jj] for the key row at $pk (dots as attn_tokens takes them). */
const scoreHeads = forEachHead(storeScore(`
          local.get $pk
          local.get $kvOff
          i32.add                         ;; the head's slice of the row`, '$psh'));

/** O[h] += P[h][jj] · V for the value row at $pk. */
const accumulateHeads = forEachHead(`
          local.get $psh
          v128.load32_splat
          local.set $e
          local.get $pk
          local.get $kvOff
          i32.add
          local.set $pv
          local.get $oh
          local.set $pq
          local.get $dh
          i32.const 2
          i32.shr_u
          local.set $d                    ;; dh / 4 vectors
          loop $dims
            local.get $pq
            local.get $pv
            v128.load
            local.get $e
            f32x4.mul
            local.get $pq
            v128.load
            f32x4.add
            v128.store
            ${advance('$pq', 16)}
            ${advance('$pv', 16)}
            ${countDown('$d', '$dims')}
          end`);

/** Runs `perKey` for the n key rows from `rows` (byte offset of row 0) on: $pk on row j, $ps on S[h0][jj]. */
const forEachKey = (rows: string, perKey: string): string => `
      local.get $j0
      local.get $kvStride
      i32.mul
      i32.const 2
      i32.shl
      local.get ${rows}
      i32.add
      local.set $pk                       ;; row j0
      local.get $scores
      local.set $ps
      local.get $n
      local.set $jj
      loop $keys${perKey}
        ${advance('$ps', 4)}
        ${advanceBy('$pk', '$kvStride', 2)}
        ${countDown('$jj', '$keys')}
      end`;

/**
 * `attn_decode($args, $scratch, $h0, $h1)`: attn_tokens for T = 1 (same argument block); $scratch: this
 * thread's decodeScratchFloats(h1 − h0, n) floats. Writes O for heads [h0, h1).
 */
export const attnDecode: FunctionSource = {
  name: 'attn_decode',
  params: [['$args', 'i32'], ['$scratch', 'i32'], ['$h0', 'i32'], ['$h1', 'i32']],
  locals: [
    ...ATTENTION_FIELDS.map((f) => [`$${f}`, 'i32'] as const),
    ['$scale', 'f32'], ['$m', 'f32'], ['$inv', 'f32'],
    ['$h', 'i32'], ['$i', 'i32'], ['$j0', 'i32'], ['$n', 'i32'], ['$jj', 'i32'], ['$j', 'i32'], ['$d', 'i32'],
    ['$dhBytes', 'i32'], ['$sStride', 'i32'], ['$scores', 'i32'], ['$s', 'i32'], ['$ps', 'i32'], ['$psh', 'i32'], ['$pinv', 'i32'],
    ['$q0', 'i32'], ['$o0', 'i32'], ['$qh', 'i32'], ['$oh', 'i32'], ['$pq', 'i32'], ['$pk', 'i32'], ['$pv', 'i32'],
    ['$kvOff0', 'i32'], ['$kvOff', 'i32'], ['$inGroup0', 'i32'], ['$inGroup', 'i32'], ['$step', 'i32'],
    ['$acc0', 'v128'], ['$acc1', 'v128'], ['$acc2', 'v128'], ['$acc3', 'v128'], ['$e', 'v128'], ...EXP_LOCALS, ['$mv', 'v128'], ['$sum', 'v128'],
  ],
  body: `${loadAttentionArgs}
  local.get $pos0
  local.set $i                          ;; the token's position${visibleKeys}
  local.get $dh
  i32.const 2
  i32.shl
  local.set $dhBytes
  local.get $n
  i32.const ${SCORE_PADDING + 3}
  i32.add
  i32.const -4
  i32.and
  i32.const 2
  i32.shl
  local.set $sStride                    ;; scoreStride(n) in bytes
  local.get $h1
  local.get $h0
  i32.sub
  i32.const 3
  i32.add
  i32.const -4
  i32.and
  i32.const 2
  i32.shl
  local.get $scratch
  i32.add
  local.set $scores                     ;; after the heads' 1 / Σ
  local.get $h0
  local.get $dhBytes
  i32.mul
  local.tee $q0
  local.get $o
  i32.add
  local.set $o0
  local.get $q0
  local.get $q
  i32.add
  local.set $q0                         ;; head h0's q and O rows
  local.get $h0
  local.get $group
  i32.div_u
  local.set $kvOff0                     ;; h0's kv head …
  local.get $h0
  local.get $kvOff0
  local.get $group
  i32.mul
  i32.sub
  local.set $inGroup0                   ;; … h0's place in its group …
  local.get $kvOff0
  local.get $dhBytes
  i32.mul
  local.set $kvOff0                     ;; … and the kv head's byte offset in a cache row
  ${forEachKey('$kRows', scoreHeads)}
  local.get $scores
  local.set $s
  local.get $scratch
  local.set $pinv
  local.get $h0
  local.set $h
  loop $softmaxes${softmax}
    local.get $pinv
    local.get $inv
    f32.store
    ${advance('$pinv', 4)}
    local.get $s
    local.get $sStride
    i32.add
    local.set $s
    ${advance('$h', 1)}
    local.get $h
    local.get $h1
    i32.lt_u
    br_if $softmaxes
  end
  local.get $o0
  local.set $pq
  local.get $h1
  local.get $h0
  i32.sub
  local.get $dh
  i32.mul
  i32.const 2
  i32.shr_u
  local.set $d                          ;; (h1 − h0) · dh / 4 vectors of O
  loop $zero
    local.get $pq
    f32.const 0
    f32x4.splat
    v128.store
    ${advance('$pq', 16)}
    ${countDown('$d', '$zero')}
  end
  ${forEachKey('$vRows', accumulateHeads)}
  local.get $o0
  local.set $pq
  local.get $scratch
  local.set $pinv
  local.get $h0
  local.set $h
  loop $normalize
    local.get $pinv
    v128.load32_splat
    local.set $e                        ;; 1 / Σ of this head
    local.get $dh
    i32.const 2
    i32.shr_u
    local.set $d
    loop $dims
      local.get $pq
      local.get $pq
      v128.load
      local.get $e
      f32x4.mul
      v128.store
      ${advance('$pq', 16)}
      ${countDown('$d', '$dims')}
    end
    ${advance('$pinv', 4)}
    ${advance('$h', 1)}
    local.get $h
    local.get $h1
    i32.lt_u
    br_if $normalize
  end`,
};
