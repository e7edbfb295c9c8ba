/**
 * fixtures/phi3v-tiny with a tokenizer: the fixture ships none, its toy ids are bytes + 3 and the
 * Phi-3 specials at 500+ (phi3v-notes.md §8), so a Llama-style tokenizer.json with byte-fallback
 * pieces `<0xNN>` = 3 + byte reproduces them, plus Phi-3.5-vision-instruct's chat template.
 */
import { mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './run-cli.ts';

export const PHI3V_FIXTURE = join(REPO_ROOT, 'fixtures/phi3v-tiny');

/** A temporary model folder: the fixture's files (symlinked) + tokenizer.json + tokenizer_config.json. */
export function phi3vTinyWithTokenizer(): string {
  const dir = mkdtempSync(join(tmpdir(), 'phi3v-chat-'));
  for (const f of readdirSync(PHI3V_FIXTURE)) symlinkSync(join(PHI3V_FIXTURE, f), join(dir, f));
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  for (let id = 259; id < 500; id++) vocab[`<filler_${id}>`] = id;
  const specials = ['<|endoftext|>', '<|assistant|>', '<|placeholder1|>', '<|placeholder2|>', '<|placeholder3|>', '<|placeholder4|>', '<|system|>', '<|end|>', '<|placeholder5|>', '<|placeholder6|>', '<|user|>'];
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify({
    model: { type: 'BPE', byte_fallback: true, vocab, merges: [] },
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    pre_tokenizer: null,
    decoder: { type: 'Sequence', decoders: [{ type: 'Replace' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip' }] },
    added_tokens: [
      { id: 0, content: '<unk>', special: true }, { id: 1, content: '<s>', special: true }, { id: 2, content: '</s>', special: true },
      ...specials.map((content, k) => ({ id: 500 + k, content, special: true, rstrip: content === '<|assistant|>' })),
    ],
  }));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({
    bos_token: '<s>', eos_token: '<|endoftext|>', add_bos_token: true,
    chat_template: "{% for message in messages %}{{'<|' + message['role'] + '|>' + '\\n' + message['content'] + '<|end|>\\n' }}{% endfor %}{% if add_generation_prompt and messages[-1]['role'] != 'assistant' %}{{- '<|assistant|>\\n' -}}{% endif %}",
  }));
  return dir;
}
