/**
 * The embedded default model used when `generate`/`chat` get no `-m`: `fixtures/phi3-shakespeare-tiny`,
 * a 5.4 M-parameter Phi-3-architecture model with the real Phi-3 tokenizer, trained on Tiny
 * Shakespeare (see its README.md). Resolved from this file's location, so `phi3` works from any cwd.
 */
import { fileURLToPath } from 'node:url';

/** Absolute path of the default model folder (repo root/fixtures/phi3-shakespeare-tiny). */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../../fixtures/phi3-shakespeare-tiny', import.meta.url));

/**
 * The default model is a base (completion) model: its tokenizer_config.json carries Phi-3's chat
 * template, but the weights never saw the chat tokens (its README: "Chat templates are meaningless
 * for this model"). So prompts go in raw unless `--chat` is given.
 */
export const DEFAULT_MODEL_USES_CHAT_TEMPLATE = false;
