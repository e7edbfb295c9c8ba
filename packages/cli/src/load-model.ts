/**
 * What `generate`, `chat`, `serve` and `bench` share: open a model (the embedded default when no
 * `-m`) through the library's `loadModel` with a progress bar and the `--dtype/--kernels/-t` flags,
 * its tokenizer, EOS ids and prompt encoding (raw or through the chat template).
 */
import { realpathSync } from 'node:fs';
import { basename } from 'node:path';
import {
  InferenceSession, buildPlacedModel as buildModelWith, collectEosIds, loadModel, loadTokenizer, resolveKernels, renderChat,
  type ChatMessage, type GenerationStats, type Model, type ModelConfig, type PlacedModelOptions, type Tokenizer, type WeightSource,
} from '@phi3/model';
import { DEFAULT_MODEL_DIR, DEFAULT_MODEL_USES_CHAT_TEMPLATE } from './default-model.ts';
import { UsageError } from './run-main.ts';
import { createProgressBar, type StatusOutput } from './progress.ts';
import type { WeightPlacementFlags } from './options.ts';

// bench.ts opens checkpoints through here (the library's own function, one dispatch for every caller).
export { openCheckpoint } from '@phi3/model';

/** A model ready to generate with. */
export interface OpenedModel {
  readonly path: string;
  readonly model: Model;
  readonly tokenizer: Tokenizer;
  /** Longest sequence a session holds (config max_position_embeddings). */
  readonly contextLength: number;
  /** config.json eos ∪ the tokenizer's stop ids (generation_config.json, `<|end|>`). */
  readonly eosIds: ReadonlySet<number>;
  /** Prompts go through the chat template unless --raw (see `usesChatTemplate`). */
  readonly chatByDefault: boolean;
  createSession(): InferenceSession;
}

/** f32 weights multiplied by the TypeScript reference kernels on one thread. */
const REFERENCE_PLACEMENT: WeightPlacementFlags = { dtype: 'f32', kernels: 'ts', threads: 1 };

/**
 * Opens `path` (default: the embedded Shakespeare model) and its tokenizer, drawing a progress bar
 * on stderr while the weights are read.
 * @param placement `--dtype`, `--kernels`, `-t` (default: f32 weights, reference kernels, one thread)
 */
export function openModel(path: string | undefined, status: StatusOutput, placement: WeightPlacementFlags = REFERENCE_PLACEMENT): OpenedModel {
  const dir = path ?? DEFAULT_MODEL_DIR;
  const options = placedModelOptions(placement); // a bad choice fails before loading
  const started = performance.now();
  const bar = createProgressBar(status, `loading ${basename(dir)}`);
  const model = loadModel(dir, { ...options, onProgress: (reads, total) => bar.update(reads, total) });
  const tokenizer = loadTokenizer(dir);
  const seconds = (performance.now() - started) / 1000;
  bar.done(`loaded ${basename(dir)} (${model.config.kind}, ${model.config.nLayers} layers, ${formatCount(countParameters(model.weights))} parameters) in ${seconds.toFixed(2)} s`);
  return {
    path: dir,
    model,
    tokenizer,
    contextLength: model.config.maxPositionEmbeddings,
    eosIds: collectEosIds(model.config.eosTokenIds, tokenizer.stopIds),
    chatByDefault: isDefaultModel(dir) ? DEFAULT_MODEL_USES_CHAT_TEMPLATE : tokenizer.chatTemplate !== undefined,
    createSession: () => new InferenceSession(model),
  };
}

/** `--dtype`, `--kernels` (auto resolved), `-t` as the library's placement options. */
function placedModelOptions(placement: WeightPlacementFlags): PlacedModelOptions {
  return { dtype: placement.dtype, kernels: resolveKernels(placement.kernels), threads: placement.threads };
}

/** `buildPlacedModel` with the command's `--dtype`, `--kernels`, `-t` flags (bench wires random or opened weights). */
export function buildPlacedModel(config: ModelConfig, weights: WeightSource, placement: WeightPlacementFlags): Model {
  return buildModelWith(config, weights, placedModelOptions(placement));
}

/** True for the embedded default model, whether reached by default or by `-m` with any spelling of its path. */
function isDefaultModel(dir: string): boolean {
  try {
    return realpathSync(dir) === realpathSync(DEFAULT_MODEL_DIR);
  } catch {
    return false;
  }
}

/** Σ ∏shape over every tensor of the checkpoint (a tied head is stored, and counted, once). */
export function countParameters(weights: WeightSource): number {
  let n = 0;
  for (const name of weights.names()) n += weights.info(name).shape.reduce((a, b) => a * b, 1);
  return n;
}

/** 5383808 → "5.38 M", 3.8e9 → "3.82 B". */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

/** `--chat` / `--raw` / `--system` as commander stores them. */
export interface PromptFormatFlags {
  chat?: boolean;
  raw?: boolean;
  system?: string;
}

/** Whether prompts go through the chat template: --chat / --raw, else the model's default. */
export function usesChatTemplate(opened: OpenedModel, flags: PromptFormatFlags): boolean {
  const chat = flags.chat ? true : flags.raw ? false : opened.chatByDefault;
  if (!chat && flags.system !== undefined) {
    throw new UsageError(`--system needs the chat template, but ${basename(opened.path)} runs raw prompts${flags.raw ? ' (--raw)' : ' by default: add --chat'}`);
  }
  return chat;
}

/**
 * Token ids of a one-shot prompt: the chat template with one user message (plus `--system`), or the
 * raw text with BOS as the tokenizer config says (`add_bos_token`).
 */
export function encodePrompt(opened: OpenedModel, prompt: string, flags: PromptFormatFlags): number[] {
  const { tokenizer } = opened;
  if (!usesChatTemplate(opened, flags)) {
    const ids = tokenizer.encode(prompt, { addBos: tokenizer.addBosByDefault });
    // An empty prompt generates from BOS alone (as llama-cli does; samples.md #6 for the default model).
    return ids.length === 0 && tokenizer.bosId !== undefined ? [tokenizer.bosId] : ids;
  }
  const messages: ChatMessage[] = [{ role: 'user', content: prompt }];
  return tokenizer.encode(renderChat(tokenizer, messages, { system: flags.system }));
}

/** A stderr note when generation ended for a reason the user may not expect (context full). */
export function stopNote(stats: GenerationStats, contextLength: number): string | null {
  return stats.stopReason === 'context'
    ? `note: context full (${contextLength} tokens): stopped after ${stats.generatedTokens} generated tokens`
    : null;
}
