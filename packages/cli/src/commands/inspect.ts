/**
 * `phi3 inspect PATH [--json]`: what a checkpoint is, read from its config and tensor headers only
 * (no tensor data is loaded): variant, dimensions, parameter count, dtype / quantization per tensor
 * group, tokenizer, context length and LongRoPE's original length.
 */
import { Command, Option } from 'commander';
import { loadTokenizer, openCheckpoint, type ModelConfig, type WeightSource } from '@phi3/model';
import { oneLineErrors } from '../options.ts';
import { countParameters, formatCount } from '../load-model.ts';

/** Tensors that differ only in their layer index, e.g. `model.layers.*.self_attn.qkv_proj.weight`. */
export interface TensorGroup {
  readonly name: string;
  readonly count: number;
  /** Shape of one member (all members share it in a well-formed checkpoint). */
  readonly shape: readonly number[];
  /** Stored dtype or quantization (`BF16`, `F32`, `Q8_0`, …); several joined by `,` if members differ. */
  readonly dtype: string;
  readonly parameters: number;
}

/** The `--json` report. */
export interface InspectReport {
  readonly path: string;
  readonly format: 'safetensors' | 'gguf';
  readonly variant: ModelConfig['kind'];
  readonly dims: {
    vocabSize: number; hiddenSize: number; nLayers: number; nHeads: number; nKvHeads: number; headDim: number;
    intermediateSize: number | null;
  };
  readonly parameters: number;
  /** Parameters per stored dtype. */
  readonly dtypes: Record<string, number>;
  readonly tensorGroups: readonly TensorGroup[];
  readonly context: {
    maxPositionEmbeddings: number;
    /** LongRoPE's original_max_position_embeddings (the short-factor range); null without it. */
    originalMaxPositionEmbeddings: number | null;
    longRope: boolean;
    slidingWindow: number | null;
  };
  readonly tokenizer: { kind: string; vocabSize: number; bosId: number | null; eosId: number; stopIds: number[]; chatTemplate: boolean } | { error: string };
}

export function register(program: Command): void {
  oneLineErrors(program.command('inspect'))
    .description('describe a model folder or GGUF file: variant, sizes, parameters, dtypes, tokenizer, context')
    .argument('<path>', 'HF model folder or GGUF file')
    .addOption(new Option('--json', 'print one JSON object'))
    .action((path: string, flags: { json?: boolean }) => {
      const report = inspectModel(path);
      process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : formatReport(report));
    });
}

/** Builds the report from the config and tensor headers. */
export function inspectModel(path: string): InspectReport {
  const { format, config, weights } = openCheckpoint(path);
  try {
    const groups = groupTensors(weights);
    const dtypes: Record<string, number> = {};
    for (const name of weights.names()) {
      const info = weights.info(name);
      dtypes[info.dtype] = (dtypes[info.dtype] ?? 0) + info.shape.reduce((a, b) => a * b, 1);
    }
    const extra = config as unknown as Record<string, unknown>;
    const scaling = extra.ropeScaling as Record<string, unknown> | null | undefined;
    return {
      path,
      format,
      variant: config.kind,
      dims: {
        vocabSize: config.vocabSize, hiddenSize: config.hiddenSize, nLayers: config.nLayers, nHeads: config.nHeads,
        nKvHeads: config.nKvHeads, headDim: config.headDim,
        intermediateSize: typeof extra.intermediateSize === 'number' ? extra.intermediateSize : null,
      },
      parameters: countParameters(weights),
      dtypes,
      tensorGroups: groups,
      context: {
        maxPositionEmbeddings: config.maxPositionEmbeddings,
        // phi3/phimoe keep it on the config, phi3small inside its LongRoPE record
        originalMaxPositionEmbeddings: numberOrNull(extra.originalMaxPositionEmbeddings ?? scaling?.originalMaxPositionEmbeddings),
        longRope: scaling !== null && scaling !== undefined,
        slidingWindow: numberOrNull(extra.slidingWindow),
      },
      tokenizer: describeTokenizer(path),
    };
  } finally {
    weights.close();
  }
}

function numberOrNull(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}

function describeTokenizer(path: string): InspectReport['tokenizer'] {
  try {
    const t = loadTokenizer(path);
    return { kind: t.kind, vocabSize: t.vocabSize, bosId: t.bosId ?? null, eosId: t.eosId, stopIds: [...t.stopIds], chatTemplate: t.chatTemplate !== undefined };
  } catch (err) {
    return { error: (err as Error).message }; // a checkpoint without tokenizer files is still inspectable
  }
}

/** Groups tensor names by replacing the layer index with `*`, in checkpoint order. */
export function groupTensors(weights: WeightSource): TensorGroup[] {
  const groups = new Map<string, { count: number; shape: readonly number[]; dtypes: Set<string>; parameters: number }>();
  for (const name of weights.names()) {
    const info = weights.info(name);
    const key = name.replace(/\.layers\.\d+\./, '.layers.*.');
    const g = groups.get(key) ?? { count: 0, shape: info.shape, dtypes: new Set<string>(), parameters: 0 };
    g.count++;
    g.dtypes.add(info.dtype);
    g.parameters += info.shape.reduce((a, b) => a * b, 1);
    groups.set(key, g);
  }
  return [...groups].map(([name, g]) => ({ name, count: g.count, shape: g.shape, dtype: [...g.dtypes].join(','), parameters: g.parameters }));
}

/** The human-readable report. */
export function formatReport(r: InspectReport): string {
  const d = r.dims;
  const c = r.context;
  const lines = [
    `model       ${r.path} (${r.format})`,
    `variant     ${r.variant}`,
    `dims        layers ${d.nLayers}, hidden ${d.hiddenSize}, heads ${d.nHeads} (kv ${d.nKvHeads}, head dim ${d.headDim})` +
      `${d.intermediateSize === null ? '' : `, ffn ${d.intermediateSize}`}, vocab ${d.vocabSize}`,
    `parameters  ${formatCount(r.parameters)} (${r.parameters.toLocaleString('en-US')})`,
    `dtypes      ${Object.entries(r.dtypes).map(([k, n]) => `${k} ${formatCount(n)}`).join(', ')}`,
    `context     ${c.maxPositionEmbeddings} tokens` +
      (c.longRope ? `, LongRoPE (original ${c.originalMaxPositionEmbeddings})` : ', plain RoPE') +
      (c.slidingWindow === null ? '' : `, sliding window ${c.slidingWindow}`),
    `tokenizer   ${'error' in r.tokenizer ? `unavailable: ${r.tokenizer.error}` :
      `${r.tokenizer.kind}, ${r.tokenizer.vocabSize} ids, bos ${r.tokenizer.bosId ?? '-'}, eos ${r.tokenizer.eosId}, ` +
      `stop ids [${r.tokenizer.stopIds.join(', ')}], chat template ${r.tokenizer.chatTemplate ? 'yes' : 'no'}`}`,
    'tensors',
    ...r.tensorGroups.map((g) => `  ${g.name.padEnd(48)} ${g.count > 1 ? `${g.count} × ` : ''}[${g.shape.join(', ')}] ${g.dtype}`),
  ];
  return `${lines.join('\n')}\n`;
}
