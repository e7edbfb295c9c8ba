/**
 * Chat prompts: the checkpoint's own Jinja `chat_template` (tokenizer_config.json or GGUF
 * `tokenizer.chat_template`), rendered with @huggingface/jinja as transformers.js does, with the
 * variables transformers' `apply_chat_template` passes (`messages`, `bos_token`, `eos_token`,
 * `add_generation_prompt`). Checkpoints without a template get the built-in Phi-3 format of their
 * tokenizer kind. Encode the result with `tokenizer.encode(prompt)` (no addBos: templates that
 * want BOS write `{{ bos_token }}` themselves).
 */
import { Template } from '@huggingface/jinja';
import { TokenizerError } from '../errors.ts';
import type { Tokenizer } from './types.ts';

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant' | (string & {});
  readonly content: string;
}

export interface RenderChatOptions {
  /** End with the assistant header so the model writes the reply (default true). */
  addGenerationPrompt?: boolean;
  /** A system message to put first (when `messages` has none). */
  system?: string;
  /** Use this Jinja template instead of the tokenizer's own. */
  template?: string;
}

/**
 * Phi-3 / 3.5 mini format (microsoft/Phi-3.5-mini-instruct tokenizer_config.json): `<|role|>\n`,
 * content, `<|end|>\n` per message, an empty system message skipped.
 */
export const PHI3_CHAT_TEMPLATE =
  "{% for message in messages %}{% if message['role'] == 'system' and message['content'] %}" +
  "{{'<|system|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}" +
  "{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'assistant' %}" +
  "{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}";

/** Phi-3-small format (microsoft/Phi-3-small-8k-instruct): `{{ bos_token }}` then every role alike. */
export const PHI3_SMALL_CHAT_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{{'<|' + message['role'] + '|>' + '\n' + message['content'] + '<|end|>\n' }}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}";

/** The template a tokenizer uses: its own, else the built-in one for its kind. */
export function chatTemplateOf(tokenizer: Tokenizer): string {
  return tokenizer.chatTemplate ?? (tokenizer.kind === 'tiktoken' ? PHI3_SMALL_CHAT_TEMPLATE : PHI3_CHAT_TEMPLATE);
}

/** Renders a conversation into the prompt string the model was trained on. */
export function renderChat(tokenizer: Tokenizer, messages: readonly ChatMessage[], options: RenderChatOptions = {}): string {
  const all = options.system !== undefined && !messages.some((m) => m.role === 'system')
    ? [{ role: 'system', content: options.system }, ...messages]
    : messages;
  const source = options.template ?? chatTemplateOf(tokenizer);
  let template: Template;
  try {
    template = new Template(source);
  } catch (err) {
    throw new TokenizerError(`chat template does not parse: ${(err as Error).message}`);
  }
  try {
    return template.render({
      messages: all.map((m) => ({ role: m.role, content: m.content })),
      bos_token: tokenizer.bosToken ?? '',
      eos_token: tokenizer.eosToken,
      add_generation_prompt: options.addGenerationPrompt ?? true,
    });
  } catch (err) {
    throw new TokenizerError(`chat template failed to render: ${(err as Error).message}`);
  }
}
