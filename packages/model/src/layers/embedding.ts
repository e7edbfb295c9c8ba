/**
 * Token embedding lookup (HF `embed_tokens`), shared by every variant.
 */
import { gatherMatrixRowsInto, type WeightMatrix } from '@phi3/tensor';

/**
 * Rows `tokens` of the embedding table, times `multiplier` (Phi-3-small's muP
 * `mup_embedding_multiplier`; 1 elsewhere), rounded to f32 as the f32 tensor product is.
 * @param table [V, D] (dense or quantized)
 * @returns [T, D] f32 (fresh)
 */
export function embedTokens(table: WeightMatrix, tokens: readonly number[], multiplier = 1): Float32Array {
  const out = new Float32Array(tokens.length * table.cols); // [T, D]
  gatherMatrixRowsInto(out, table, tokens);
  if (multiplier !== 1) for (let i = 0; i < out.length; i++) out[i] *= multiplier;
  return out;
}
