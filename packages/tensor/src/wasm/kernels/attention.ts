// Decode/prefill attention for one query token over a KV cache that lives in wasm memory, in two
// kernels around a softmax done in TypeScript (../attention.ts):
//   attn_scores:  S[h, j] = scale · q[h, :] · K[j, g(h), :]        for heads [h0, h1), keys j < n
//   attn_values:  O[h, :] = Σ_j P[h, j] · V[j, g(h), :]
// with g(h) = h / group (GQA: `group` query heads share a kv head). Each takes a range of heads, so
// worker threads split the heads the way matvecs split rows. Both need head_dim % 16 == 0 (four
// f32x4 per step). f32 accumulation in 16 lanes, then a fixed-order horizontal sum.
import type { FunctionSource } from '../assembler.ts';
import { advance, advanceBy, countDown, foldAccumulators4, horizontalSum, mulAdd16, zeroAccumulators } from './snippets.ts';

/** Sets the head's pointers: $qh/$oh = base + h·dh floats, $kh = kv base + (h / group)·dh floats. */
/** Runs `body` for $h = $h0 … $h1 − 1 (body leaves $h unchanged). */
const forEachHead = (body: string): string => `
  local.get $h0
  local.set $h
  block $headsDone
    loop $heads
      local.get $h
      local.get $h1
      i32.ge_u
      br_if $headsDone
      ${body}
      ${advance('$h', 1)}
      br $heads
    end
  end`;

/** Sets `row` to the byte address of head $h's row of n scores / probabilities at `base` ([H, n] f32). */
const scoreRow = (base: string, row: string): string => `
      local.get ${base}
      local.get $h
      local.get $n
      i32.mul
      i32.const 2
      i32.shl
      i32.add
      local.set ${row}`;

const headPointers = (perHead: string, kv: string): string => `
    local.get ${perHead}
    local.get $h
    local.get $dh
    i32.mul
    i32.const 2
    i32.shl
    i32.add
    local.set $qh
    local.get ${kv}
    local.get $h
    local.get $group
    i32.div_u
    local.get $dh
    i32.mul
    i32.const 2
    i32.shl
    i32.add
    local.set $kh`;

/** `attn_scores($q, $k, $s, $n, $kvStride, $dh, $h0, $h1, $group, $scaleBits)`: byte offsets of q [H, dh], K rows (kvStride floats apart), S [H, n]; scale as f32 bits. */
export const attnScores: FunctionSource = {
  name: 'attn_scores',
  params: [['$q', 'i32'], ['$k', 'i32'], ['$s', 'i32'], ['$n', 'i32'], ['$kvStride', 'i32'], ['$dh', 'i32'], ['$h0', 'i32'], ['$h1', 'i32'], ['$group', 'i32'], ['$scaleBits', 'i32']],
  locals: [['$h', 'i32'], ['$qh', 'i32'], ['$kh', 'i32'], ['$sh', 'i32'], ['$j', 'i32'], ['$pq', 'i32'], ['$pk', 'i32'], ['$d', 'i32'],
    ['$acc0', 'v128'], ['$acc1', 'v128'], ['$acc2', 'v128'], ['$acc3', 'v128'], ['$sum', 'v128']],
  body: `
  ${forEachHead(`${headPointers('$q', '$k')}
      ${scoreRow('$s', '$sh')}
      local.get $n
      local.set $j
      loop $keys
        ${zeroAccumulators(4)}
        local.get $qh
        local.set $pq
        local.get $kh
        local.set $pk
        local.get $dh
        i32.const 4
        i32.shr_u
        local.set $d                   ;; dh / 16 steps
        loop $dims
          ${mulAdd16('$pq', '$pk')}
          ${advance('$pq', 64)}
          ${advance('$pk', 64)}
          ${countDown('$d', '$dims')}
        end
        ${foldAccumulators4}
        local.set $sum
        local.get $sh
        ${horizontalSum('$sum')}
        local.get $scaleBits
        f32.reinterpret_i32
        f32.mul
        f32.store
        ${advance('$sh', 4)}
        ${advanceBy('$kh', '$kvStride', 2)}  ;; the next key row
        ${countDown('$j', '$keys')}
      end
  `)}`,
};

/** `attn_values($p, $v, $o, $n, $kvStride, $dh, $h0, $h1, $group)`: byte offsets of P [H, n], V rows (kvStride floats apart), O [H, dh]. */
export const attnValues: FunctionSource = {
  name: 'attn_values',
  params: [['$p', 'i32'], ['$v', 'i32'], ['$o', 'i32'], ['$n', 'i32'], ['$kvStride', 'i32'], ['$dh', 'i32'], ['$h0', 'i32'], ['$h1', 'i32'], ['$group', 'i32']],
  locals: [['$h', 'i32'], ['$qh', 'i32'], ['$kh', 'i32'], ['$ph', 'i32'], ['$c', 'i32'], ['$pp', 'i32'], ['$pv', 'i32'], ['$j', 'i32'], ['$w', 'v128'],
    ['$acc0', 'v128'], ['$acc1', 'v128'], ['$acc2', 'v128'], ['$acc3', 'v128']],
  body: `
  ${forEachHead(`${headPointers('$o', '$v')}          ;; $qh: the head's output row, $kh: its values
      ${scoreRow('$p', '$ph')}
      i32.const 0
      local.set $c
      loop $chunks                     ;; 16 output dims at a time
        ${zeroAccumulators(4)}
        local.get $ph
        local.set $pp
        local.get $kh
        local.get $c
        i32.add
        local.set $pv
        local.get $n
        local.set $j
        loop $keys
          local.get $pp
          v128.load32_splat
          local.set $w                 ;; P[h, j]
          ${[0, 1, 2, 3].map((a) => `
          local.get $pv
          v128.load offset=${16 * a}
          local.get $w
          f32x4.mul
          local.get $acc${a}
          f32x4.add
          local.set $acc${a}`).join('')}
          ${advance('$pp', 4)}
          local.get $pv
          local.get $kvStride
          i32.const 2
          i32.shl
          i32.add
          local.set $pv
          ${countDown('$j', '$keys')}
        end
        ${[0, 1, 2, 3].map((a) => `
        local.get $qh
        local.get $c
        i32.add
        local.get $acc${a}
        v128.store offset=${16 * a}`).join('')}
        local.get $c
        i32.const 64
        i32.add
        local.tee $c
        local.get $dh
        i32.const 2
        i32.shl
        i32.lt_u
        br_if $chunks
      end
  `)}`,
};
