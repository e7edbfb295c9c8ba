// Public API of the tokenizers: loading, the Tokenizer interface, chat templates.
export type { Tokenizer, TokenizerKind, EncodeOptions, DecodeOptions, StreamDecoder, StreamDecodeOptions, AddedToken } from './types.ts';
export { loadTokenizer, loadGgufTokenizer, SHIPPED_CL100K_PATH } from './load.ts';
export { sentencePieceFromGguf, type GgufMetadata } from './spm-gguf.ts';
export { SentencePieceTokenizer } from './spm.ts';
export { TiktokenTokenizer } from './tiktoken.ts';
export { renderChat, chatTemplateOf, PHI3_CHAT_TEMPLATE, PHI3_SMALL_CHAT_TEMPLATE, type ChatMessage, type RenderChatOptions } from './chat.ts';
