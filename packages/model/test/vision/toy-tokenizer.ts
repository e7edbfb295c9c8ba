import type { ChunkTokenizer } from '../../src/vision/prompt.ts';

/** The phi3v fixtures' toy tokenizer (phi3v-notes.md §8): <s> = 1, byte b → 3 + b, Phi-3 specials 32000+k → 500+k. */
export const toyTokenizer: ChunkTokenizer = {
  addBosByDefault: true,
  encode(text, options) {
    const specials: Record<string, number> = { '<|endoftext|>': 500, '<|assistant|>': 501, '<|system|>': 506, '<|end|>': 507, '<|user|>': 510 };
    const ids = options?.addBos ? [1] : [];
    for (const part of text.split(/(<\|[a-z]+\|>)/)) {
      if (part in specials) ids.push(specials[part]);
      else for (const b of Buffer.from(part, 'utf8')) ids.push(3 + b);
    }
    return ids;
  },
};
