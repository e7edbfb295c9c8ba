// Attention over a KV cache that lives in wasm memory, every query token of a call in one kernel:
//   for each head h in [h0, h1) and token t (position i = pos0 + t, keys j0 … i visible):
//     S[j] = scale · q[t, h, :] · K[j, g(h), :]
//     P[j] = exp(S[j] − max S) / Σ exp(S − max S)
//     O[t, h, :] = Σ_j P[j] · V[j, g(h), :]
// with g(h) = h / group (GQA: `group` query heads share a kv head). A call takes a range of heads, so
// worker threads split the heads the way matvecs split rows, and a prefill hands off once per layer,
// not twice per token. Dot products: f32 in 16 lanes, then a fixed-order horizontal sum; head_dim % 16
// == 0 (four f32x4 per step). The softmax uses exp.ts's polynomial (about 2 ulp) and sums in f32x4
// lanes; 1 / Σ is applied to the output row instead of to each P[j].
import type { FunctionSource } from '../assembler.ts';
import { EXP_LOCALS, expF32x4 } from './exp.ts';
import { advance, advanceBy, countDown, f32Address, foldAccumulators4, horizontalSum, mulAdd16, zeroAccumulators } from './snippets.ts';

/** The i32 fields of the argument block a call reads (more than a worker job's ten arguments), in order. */
export const ATTENTION_FIELDS = ['q', 'kRows', 'vRows', 'o', 'T', 'pos0', 'window', 'width', 'kvStride', 'dh', 'group', 'scaleBits'] as const;

/** Below S's last score the kernel writes this many −∞ pads, so the exp loop runs whole f32x4 (their exp adds ≈ 1e-38 to Σ ≥ 1). */
export const SCORE_PADDING = 3;

/** Sets `local` to the byte address of head `head`'s slice (dh floats) of row `row` (`rowFloats` floats) of the f32 matrix at `base`. */
const headRow = (base: string, row: string, rowFloats: string, head: string, local: string): string => `${f32Address(base, row, rowFloats, `
        local.get ${head}
        local.get $dh
        i32.mul`)}
      local.set ${local}`;

/** Loads the argument block's fields into their locals, and $scale from its bits. */
export const loadAttentionArgs = `${ATTENTION_FIELDS.map((f, at) => `
  local.get $args
  i32.load offset=${4 * at}
  local.set $${f}`).join('')}
  local.get $scaleBits
  f32.reinterpret_i32
  local.set $scale`;

/** Sets $j0 and $n: the first key the token at position $i sees and how many (window 0: every key from 0). */
export const visibleKeys = `
        local.get $i
        i32.const 1
        i32.add
        local.get $window
        i32.sub
        i32.const 0
        local.get $window
        select                         ;; i + 1 − window (window 0: 0, all keys) …
        local.tee $j0
        i32.const 0
        local.get $j0
        i32.const 0
        i32.gt_s
        select
        local.set $j0                  ;; … and not below 0: the first visible key
        local.get $i
        i32.const 1
        i32.add
        local.get $j0
        i32.sub
        local.set $n                   ;; keys j0 … i`;

/**
 * Stores scale · q·k at the f32 address in local `at`: the query's head row at $qh, the key's head
 * slice at the address `keyAddress` pushes, dh / 16 steps of 16 lanes, folded in a fixed order.
 * Uses $acc0–3, $pq, $pv, $d, $e.
 */
export const storeScore = (keyAddress: string, at: string): string => `
          ${zeroAccumulators(4)}
          local.get $qh
          local.set $pq${keyAddress}
          local.set $pv
          local.get $dh
          i32.const 4
          i32.shr_u
          local.set $d                 ;; dh / 16 steps
          loop $dims
            ${mulAdd16('$pq', '$pv')}
            ${advance('$pq', 64)}
            ${advance('$pv', 64)}
            ${countDown('$d', '$dims')}
          end
          ${foldAccumulators4}
          local.set $e
          local.get ${at}
          ${horizontalSum('$e')}
          local.get $scale
          f32.mul
          f32.store`;

/** S[j] for the n keys from $kh (kvStride floats apart) against the query row at $qh, into $s …. */
const scores = `
        local.get $s
        local.set $ps
        local.get $kh
        local.set $pk
        local.get $n
        local.set $j
        loop $keys${storeScore(`
          local.get $pk`, '$ps')}
          ${advance('$ps', 4)}
          ${advanceBy('$pk', '$kvStride', 2)}  ;; the next key row
          ${countDown('$j', '$keys')}
        end`;

/**
 * The softmax numerators exp(S[j] − max) in place over whole f32x4, and $inv = 1 / their sum, for the
 * n scores at $s: first SCORE_PADDING −∞ after them, so the exp loop runs whole vectors. Uses locals
 * $ps, $j, $m, $mv, $sum, $e, $inv and EXP_LOCALS.
 */
export const softmax = `${[...Array(SCORE_PADDING).keys()].map((p) => `
        local.get $s
        local.get $n
        i32.const 2
        i32.shl
        i32.add
        f32.const -Infinity
        f32.store offset=${4 * p}`).join('')}
        local.get $s
        f32.load
        local.set $m
        local.get $s
        local.set $ps
        local.get $n
        local.set $j
        loop $max
          local.get $m
          local.get $ps
          f32.load
          f32.max
          local.set $m
          ${advance('$ps', 4)}
          ${countDown('$j', '$max')}
        end
        local.get $m
        f32x4.splat
        local.set $mv
        f32.const 0
        f32x4.splat
        local.set $sum
        local.get $s
        local.set $ps
        local.get $n
        i32.const 3
        i32.add
        i32.const 2
        i32.shr_u
        local.set $j                   ;; ⌈n / 4⌉ vectors
        loop $exp
          local.get $ps
          v128.load
          local.get $mv
          f32x4.sub
          local.set $e
          local.get $ps
          ${expF32x4('$e')}
          local.tee $e
          v128.store
          local.get $sum
          local.get $e
          f32x4.add
          local.set $sum
          ${advance('$ps', 16)}
          ${countDown('$j', '$exp')}
        end
        f32.const 1
        ${horizontalSum('$sum')}
        f32.div
        local.set $inv`;

/** O[t, h, :] at $oh = $inv · Σ_j P[j] · V[j] for the n value rows from $vh, 16 dims at a time. */
const weightedValues = `
        i32.const 0
        local.set $c
        loop $chunks                   ;; 16 output dims at a time
          ${zeroAccumulators(4)}
          local.get $s
          local.set $ps
          local.get $vh
          local.get $c
          i32.add
          local.set $pv
          local.get $n
          local.set $j
          loop $values
            local.get $ps
            v128.load32_splat
            local.set $e               ;; exp(S[j] − max)
            ${[0, 1, 2, 3].map((a) => `
            local.get $pv
            v128.load offset=${16 * a}
            local.get $e
            f32x4.mul
            local.get $acc${a}
            f32x4.add
            local.set $acc${a}`).join('')}
            ${advance('$ps', 4)}
            ${advanceBy('$pv', '$kvStride', 2)}
            ${countDown('$j', '$values')}
          end
          local.get $inv
          f32x4.splat
          local.set $e${[0, 1, 2, 3].map((a) => `
          local.get $oh
          local.get $c
          i32.add
          local.get $acc${a}
          local.get $e
          f32x4.mul
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
        end`;

/**
 * `attn_tokens($args, $s, $h0, $h1)`: $args is the byte offset of ATTENTION_FIELDS as i32: q, o
 * [T, width] f32 (width = H · dh), kRows and vRows: K and V from position 0 (kvStride floats apart), pos0, T,
 * window (0: none; else keys j > i − window only), dh, group, scale as f32 bits. $s: this thread's
 * scratch of pos0 + T + SCORE_PADDING floats. Writes O for heads [h0, h1) of every token.
 */
export const attnTokens: FunctionSource = {
  name: 'attn_tokens',
  params: [['$args', 'i32'], ['$s', 'i32'], ['$h0', 'i32'], ['$h1', 'i32']],
  locals: [
    ...ATTENTION_FIELDS.map((f) => [`$${f}`, 'i32'] as const),
    ['$scale', 'f32'], ['$m', 'f32'], ['$inv', 'f32'],
    ['$h', 'i32'], ['$t', 'i32'], ['$i', 'i32'], ['$j0', 'i32'], ['$n', 'i32'], ['$kvHead', 'i32'],
    ['$qh', 'i32'], ['$kh', 'i32'], ['$vh', 'i32'], ['$oh', 'i32'], ['$ps', 'i32'], ['$pq', 'i32'], ['$pk', 'i32'], ['$pv', 'i32'],
    ['$j', 'i32'], ['$d', 'i32'], ['$c', 'i32'],
    ['$acc0', 'v128'], ['$acc1', 'v128'], ['$acc2', 'v128'], ['$acc3', 'v128'], ['$e', 'v128'], ...EXP_LOCALS, ['$mv', 'v128'], ['$sum', 'v128'],
  ],
  body: `${loadAttentionArgs}
  local.get $h0
  local.set $h
  block $headsDone
    loop $heads
      local.get $h
      local.get $h1
      i32.ge_u
      br_if $headsDone
      local.get $h
      local.get $group
      i32.div_u
      local.set $kvHead                ;; the kv head query head h reads
      i32.const 0
      local.set $t
      loop $tokens
        local.get $pos0
        local.get $t
        i32.add
        local.set $i                   ;; the token's position${visibleKeys}
        ${headRow('$q', '$t', '$width', '$h', '$qh')}
        ${headRow('$o', '$t', '$width', '$h', '$oh')}
        ${headRow('$kRows', '$j0', '$kvStride', '$kvHead', '$kh')}
        ${headRow('$vRows', '$j0', '$kvStride', '$kvHead', '$vh')}
        ${scores}
        ${softmax}
        ${weightedValues}
        local.get $t
        i32.const 1
        i32.add
        local.tee $t
        local.get $T
        i32.lt_u
        br_if $tokens
      end
      ${advance('$h', 1)}
      br $heads
    end
  end`,
};
