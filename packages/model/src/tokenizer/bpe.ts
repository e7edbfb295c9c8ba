/**
 * The byte-pair merge loop shared by both tokenizers.
 *
 * Every BPE flavour in the family merges the same way: among all adjacent pairs of symbols that
 * may merge, take the one with the lowest rank, the leftmost if several share that rank, replace
 * it by the merged symbol, repeat until no adjacent pair may merge. Only the rank differs:
 *   - HF `tokenizer.json` BPE: the pair's index in `model.merges` (tokenizers/src/models/bpe/word.rs)
 *   - SentencePiece / GGUF:   minus the score of the merged piece (sentencepiece bpe_model.cc;
 *                             llama.cpp llm_tokenizer_spm), ties → leftmost
 *   - tiktoken:               the rank of the merged bytes (tiktoken src/lib.rs byte_pair_merge)
 */

/** How adjacent symbols merge. Symbols are token ids. */
export interface MergeRules {
  /** Rank of merging `left` followed by `right` (lower merges first); Infinity if they never merge. */
  pairRank(left: number, right: number): number;
  /** The symbol `left`+`right` merge into (only called when pairRank is finite). */
  pairResult(left: number, right: number): number;
}

/**
 * Reference implementation: scan all pairs, merge the best, repeat. O(n²); used by tests as the
 * spec that `bpeMerge` must equal.
 * @param symbols initial symbols (ids), not modified
 * @returns the merged symbols
 */
export function bpeMergeNaive(symbols: readonly number[], rules: MergeRules): number[] {
  const parts = [...symbols];
  for (;;) {
    let best = Infinity;
    let at = -1;
    for (let i = 0; i + 1 < parts.length; i++) {
      const rank = rules.pairRank(parts[i], parts[i + 1]);
      if (rank < best) { best = rank; at = i; } // strict <: the leftmost of equal ranks wins
    }
    if (at < 0) return parts;
    parts.splice(at, 2, rules.pairResult(parts[at], parts[at + 1]));
  }
}

/**
 * Same result as `bpeMergeNaive` in O(n log n): symbols form a doubly linked list and candidate
 * pairs sit in a binary min-heap ordered by (rank, position of the left symbol). A heap entry is
 * stale when either of its symbols has changed since it was pushed; merged symbols are always
 * longer pieces, so "same ids at the same linked positions" means "unchanged".
 * @param symbols initial symbols (ids), not modified
 */
export function bpeMerge(symbols: readonly number[], rules: MergeRules): number[] {
  const n = symbols.length;
  if (n < 2) return [...symbols];
  const id = Int32Array.from(symbols);
  const next = new Int32Array(n); // index of the next live symbol, or n
  const prev = new Int32Array(n); // index of the previous live symbol, or -1
  for (let i = 0; i < n; i++) { next[i] = i + 1; prev[i] = i - 1; }
  const heap = new PairHeap();
  const pushPair = (left: number, right: number): void => {
    const rank = rules.pairRank(id[left], id[right]);
    if (rank !== Infinity) heap.push(rank, left, id[left], id[right]);
  };
  for (let i = 0; i + 1 < n; i++) pushPair(i, i + 1);

  while (heap.size > 0) {
    const { left, leftId, rightId } = heap.pop();
    const right = next[left];
    if (id[left] !== leftId || right >= n || id[right] !== rightId || id[left] < 0) continue; // stale
    id[left] = rules.pairResult(leftId, rightId);
    id[right] = -1; // dead
    next[left] = next[right];
    if (next[left] < n) prev[next[left]] = left;
    if (prev[left] >= 0) pushPair(prev[left], left);
    if (next[left] < n) pushPair(left, next[left]);
  }
  const out: number[] = [];
  for (let i = 0; i < n; i = next[i]) out.push(id[i]);
  return out;
}

/**
 * Binary min-heap of merge candidates keyed by (rank, left position). Entries are 4 numbers
 * [rank, left, leftId, rightId] stored flat in one array (no per-entry objects).
 */
class PairHeap {
  private readonly a: number[] = [];

  get size(): number {
    return this.a.length >> 2;
  }

  push(rank: number, left: number, leftId: number, rightId: number): void {
    this.a.push(rank, left, leftId, rightId);
    let i = this.size - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): { left: number; leftId: number; rightId: number } {
    const a = this.a;
    const top = { left: a[1], leftId: a[2], rightId: a[3] };
    const last = this.size - 1;
    this.swap(0, last);
    a.length -= 4;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < last && this.less(l, m)) m = l;
      if (r < last && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }

  private less(i: number, j: number): boolean {
    const a = this.a;
    const ri = a[4 * i];
    const rj = a[4 * j];
    return ri < rj || (ri === rj && a[4 * i + 1] < a[4 * j + 1]);
  }

  private swap(i: number, j: number): void {
    const a = this.a;
    for (let k = 0; k < 4; k++) {
      const t = a[4 * i + k];
      a[4 * i + k] = a[4 * j + k];
      a[4 * j + k] = t;
    }
  }
}
