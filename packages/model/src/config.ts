/**
 * Model configuration: one normalized, validated, readonly record per model, discriminated on `kind`.
 *
 * `config.json` (snake_case, Hugging Face) is read once into camelCase fields with explicit defaults;
 * invalid combinations throw a `ConfigError` naming the field here, never deep in a kernel.
 * Each variant parses its own config in its variant file (with the `ConfigReader` helpers and
 * `parseDecoderConfig` below) and adds its record type to `ConfigByKind` with a module augmentation:
 *
 * ```ts
 * declare module '../config.ts' { interface ConfigByKind { phimoe: PhimoeConfig } }
 * ```
 */
import { ConfigError } from './errors.ts';

/** The variants we know about (`kind` of a ModelConfig). HF `model_type` maps to these in variants/registry.ts. */
export type ModelKind = 'phi3' | 'phimoe' | 'phi3small' | 'phi3_v';

/** Fields every decoder has; the session, KV cache and verify rely on these only. */
export interface DecoderConfig {
  readonly kind: ModelKind;
  /** HF: vocab_size */
  readonly vocabSize: number;
  /** HF: hidden_size (D) */
  readonly hiddenSize: number;
  /** HF: num_hidden_layers (L) */
  readonly nLayers: number;
  /** HF: num_attention_heads (H) */
  readonly nHeads: number;
  /** HF: num_key_value_heads (Hkv; defaults to H) */
  readonly nKvHeads: number;
  /** Dh = hidden_size / num_attention_heads (v4.47.1 derives it so and ignores any `head_dim` key). */
  readonly headDim: number;
  /** HF: max_position_embeddings — the longest context the model supports. */
  readonly maxPositionEmbeddings: number;
  /** HF: bos_token_id (null when absent) */
  readonly bosTokenId: number | null;
  /** HF: eos_token_id, always as a list (the config may hold one id or several). */
  readonly eosTokenIds: readonly number[];
  /** HF: pad_token_id (null when absent) */
  readonly padTokenId: number | null;
}

/** LongRoPE ("su") factors shared by phi3, phi3_v and phimoe (HF modeling_rope_utils `_compute_longrope_parameters`). */
export interface LongRopeScaling {
  /** HF: rope_scaling.short_factor, length Dh/2 — used while the total length is short. */
  readonly shortFactor: Float64Array;
  /** HF: rope_scaling.long_factor, length Dh/2 — used past original_max_position_embeddings. */
  readonly longFactor: Float64Array;
}

/** Phi-3 mini/medium/3.5-mini (model_type "phi3"). */
export interface Phi3Config extends DecoderConfig {
  readonly kind: 'phi3';
  /** HF: intermediate_size (F) */
  readonly intermediateSize: number;
  /** HF: original_max_position_embeddings (defaults to max_position_embeddings) */
  readonly originalMaxPositionEmbeddings: number;
  /** HF: rope_theta */
  readonly ropeTheta: number;
  /** HF: rope_scaling ("longrope", or the older "su"/"yarn" names v4.47.1 rewrites to it); null = plain RoPE */
  readonly ropeScaling: LongRopeScaling | null;
  /** HF: rms_norm_eps */
  readonly rmsNormEps: number;
  /** HF: sliding_window — a query sees this many keys including itself; null = unlimited. */
  readonly slidingWindow: number | null;
  /** HF: tie_word_embeddings — lm_head reuses embed_tokens when the checkpoint has no lm_head.weight. */
  readonly tieWordEmbeddings: boolean;
}

/**
 * Per-kind config records. Variant files add their entry by module augmentation (see the file comment),
 * so `ModelConfig` stays one discriminated union without this file importing every variant.
 */
export interface ConfigByKind {
  phi3: Phi3Config;
}

/** The normalized config of any supported model; switch on `kind` to narrow. */
export type ModelConfig = ConfigByKind[keyof ConfigByKind];

/** Raw JSON object as read from config.json. */
export type RawConfig = Readonly<Record<string, unknown>>;

/**
 * Typed accessors over a raw config object; every failure is a ConfigError naming `file` and the key.
 * Keys may be dotted paths into nested objects (`rope_scaling.short_factor`) for messages.
 */
export class ConfigReader {
  constructor(
    readonly raw: RawConfig,
    /** Where the config came from, for messages (e.g. `fixtures/x/config.json`). */
    readonly file: string,
    private readonly prefix = '',
  ) {}

  /** A reader over a nested object, or null when the key is absent/null. */
  child(key: string): ConfigReader | null {
    const v = this.raw[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(key, v, 'an object');
    return new ConfigReader(v as RawConfig, this.file, `${this.prefix}${key}.`);
  }

  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  /** A finite number; `fallback` when absent (required when no fallback is given). */
  number(key: string, fallback?: number): number {
    const v = this.raw[key];
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, v, 'a finite number');
    return v;
  }

  /** A number > 0. */
  positive(key: string, fallback?: number): number {
    const v = this.number(key, fallback);
    if (!(v > 0)) this.fail(key, v, 'a positive number');
    return v;
  }

  /** An integer >= `min` (default 1). */
  int(key: string, fallback?: number, min = 1): number {
    const v = this.number(key, fallback);
    if (!Number.isSafeInteger(v) || v < min) this.fail(key, v, `an integer >= ${min}`);
    return v;
  }

  /** An integer >= min, or null when absent/null. */
  intOrNull(key: string, min = 0): number | null {
    return this.has(key) ? this.int(key, undefined, min) : null;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') this.fail(key, v, 'true or false');
    return v;
  }

  string(key: string, fallback?: string): string {
    const v = this.raw[key];
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (typeof v !== 'string') this.fail(key, v, 'a string');
    return v;
  }

  /** One token id or a list of them (HF allows both for eos_token_id); [] when absent. */
  tokenIds(key: string): number[] {
    const v = this.raw[key];
    if (v === undefined || v === null) return [];
    const list = Array.isArray(v) ? v : [v];
    for (const id of list) if (!Number.isSafeInteger(id) || (id as number) < 0) this.fail(key, v, 'a token id or a list of ids');
    return list as number[];
  }

  /** A list of exactly `length` finite numbers. */
  numbers(key: string, length: number): Float64Array {
    const v = this.raw[key];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) this.fail(key, v, 'a list of numbers');
    if (v.length !== length) throw this.error(key, `has ${v.length} entries, expected ${length}`);
    return Float64Array.from(v as number[]);
  }

  /** A ConfigError for `key` with a custom reason. */
  error(key: string, reason: string): ConfigError {
    return new ConfigError(`${this.file}: ${this.prefix}${key} ${reason}`);
  }

  private fail(key: string, value: unknown, expected: string): never {
    if (value === undefined || value === null) throw this.error(key, `is missing (expected ${expected})`);
    const shown = JSON.stringify(value) ?? 'undefined';
    throw this.error(key, `must be ${expected} (got ${shown.length > 40 ? `${shown.slice(0, 40)}…` : shown})`);
  }
}

/** Per-variant defaults of the shared fields, where the variant's HF config class differs from Phi-3's. */
export interface DecoderDefaults {
  /** num_key_value_heads when absent (Phi3Config: the head count; PhimoeConfig and Phi3SmallConfig: 8) */
  readonly nKvHeads?: number;
  /** bos_token_id when absent (Phi3Config: none here; PhimoeConfig 1; Phi3SmallConfig 100257) */
  readonly bosTokenId?: number;
  /** eos_token_id when absent (PhimoeConfig 2; Phi3SmallConfig 100257) */
  readonly eosTokenId?: number;
}

/**
 * Parses the fields every Phi-3-family config.json names alike (phi3, phi3_v, phimoe, phi3small) and
 * checks that the head layout is consistent.
 */
export function parseDecoderConfig<K extends ModelKind>(r: ConfigReader, kind: K, defaults: DecoderDefaults = {}): DecoderConfig & { readonly kind: K } {
  const hiddenSize = r.int('hidden_size');
  const nHeads = r.int('num_attention_heads');
  const nKvHeads = r.int('num_key_value_heads', defaults.nKvHeads ?? nHeads);
  if (hiddenSize % nHeads !== 0) throw r.error('num_attention_heads', `(${nHeads}) must divide hidden_size (${hiddenSize})`);
  if (nHeads % nKvHeads !== 0) throw r.error('num_key_value_heads', `(${nKvHeads}) must divide num_attention_heads (${nHeads})`);
  const headDim = hiddenSize / nHeads;
  if (headDim % 2 !== 0) throw r.error('num_attention_heads', `gives an odd head dim ${headDim}; rotary embeddings need an even one`);
  return {
    kind,
    vocabSize: r.int('vocab_size'),
    hiddenSize,
    nLayers: r.int('num_hidden_layers'),
    nHeads,
    nKvHeads,
    headDim,
    maxPositionEmbeddings: r.int('max_position_embeddings'),
    bosTokenId: r.has('bos_token_id') || defaults.bosTokenId === undefined ? r.intOrNull('bos_token_id') : defaults.bosTokenId,
    eosTokenIds: r.has('eos_token_id') || defaults.eosTokenId === undefined ? r.tokenIds('eos_token_id') : [defaults.eosTokenId],
    padTokenId: r.intOrNull('pad_token_id'),
  };
}

/**
 * Reads `rope_scaling.short_factor` / `long_factor` (each Dh/2 numbers). Returns null for a null
 * `rope_scaling`. `allowedTypes` lists the accepted `type` values; `extraKeys` the other keys the
 * variant accepts besides type/short_factor/long_factor (v4.47.1 phi3 accepts none).
 */
export function parseLongRopeFactors(
  r: ConfigReader,
  headDim: number,
  allowedTypes: readonly string[],
  extraKeys: readonly string[] = [],
): LongRopeScaling | null {
  const s = r.child('rope_scaling');
  if (s === null) return null;
  const type = s.string('type');
  if (!allowedTypes.includes(type)) throw s.error('type', `"${type}" is not supported (expected ${allowedTypes.join(' or ')})`);
  const known = new Set(['type', 'short_factor', 'long_factor', ...extraKeys]);
  for (const key of Object.keys(s.raw)) if (!known.has(key)) throw s.error(key, 'is not a known LongRoPE key');
  return { shortFactor: s.numbers('short_factor', headDim / 2), longFactor: s.numbers('long_factor', headDim / 2) };
}
