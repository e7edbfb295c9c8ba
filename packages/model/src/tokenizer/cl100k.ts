/**
 * The Phi-3-small vocabulary around the cl100k_base ranks: the pre-tokenizer pattern and the
 * special tokens, as `tokenization_phi3_small.py` (microsoft/Phi-3-small-8k-instruct) defines them.
 */
import { WHITE_SPACE_CLASS } from './unicode.ts';

const WS = WHITE_SPACE_CLASS;

/**
 * cl100k_base's split pattern (tiktoken_ext/openai_public.py) in JavaScript form:
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*
 *   |\s*[\r\n]+|\s+(?!\S)|\s+
 * Two spellings differ from the original because JavaScript differs from Rust regex:
 *   - `\s` is Unicode White_Space in Rust but not in JS (U+FEFF, U+0085), so it is spelled out;
 *   - Node 20 has no `(?i:…)` groups; the contractions list each letter's case variants, which
 *     under Rust's Unicode simple case folding include U+017F ſ (LATIN SMALL LETTER LONG S) for 's'.
 */
export const CL100K_PATTERN = new RegExp(
  [
    "'(?:[sS\u017F]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])",
    '[^\\r\\n\\p{L}\\p{N}]?\\p{L}+',
    '\\p{N}{1,3}',
    ` ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*`,
    `[${WS}]*[\\r\\n]+`,
    `[${WS}]+(?![^${WS}])`,
    `[${WS}]+`,
  ].join('|'),
  'gu',
);

/**
 * Phi-3-small's special tokens → ids (`SPECIAL_TOKENS` of tokenization_phi3_small.py): cl100k's own
 * `<|endoftext|>` and FIM tokens, the chat roles, `<|end|>`, `<|endofprompt|>`, and `<|dummy_id_N|>`
 * fillers for every other id up to the padded vocabulary size 100352 (100256 has no cl100k bytes).
 */
export function phi3SmallSpecialTokens(): Map<string, number> {
  const named: [string, number][] = [
    ['<|endoftext|>', 100257], ['<|fim_prefix|>', 100258], ['<|fim_middle|>', 100259], ['<|fim_suffix|>', 100260],
    ['<|system|>', 100261], ['<|user|>', 100262], ['<|assistant|>', 100263],
    ['<|dummy_id_0|>', 100264], ['<|dummy_id_1|>', 100265], ['<|end|>', 100266],
    ['<|dummy_id_2|>', 100256], ['<|endofprompt|>', 100276],
  ];
  const tokens = new Map<string, number>(named);
  for (let id = 100267; id <= 100275; id++) tokens.set(`<|dummy_id_${id - 100264}|>`, id); // dummy 3..11
  for (let id = 100277; id < 100352; id++) tokens.set(`<|dummy_id_${id - 100265}|>`, id); // dummy 12..86
  return tokens;
}

/** bos = eos = `<|endoftext|>` (Phi3SmallTokenizer.__init__). */
export const PHI3_SMALL_EOS_TOKEN = '<|endoftext|>';
