// `phi3 inspect` through the real binary, on HF folders and on a GGUF file made by `phi3 convert`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { InspectReport } from '../src/commands/inspect.ts';
import { REPO_ROOT, runCli } from './helpers/run-cli.ts';

const fixture = (name: string): string => join(REPO_ROOT, 'fixtures', name);

async function inspectJson(path: string): Promise<InspectReport> {
  const r = await runCli(['inspect', '--json', path]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as InspectReport;
}

describe('phi3 inspect', () => {
  test('the Shakespeare model: dims, parameter count (tied head counted once), dtypes, context, tokenizer', async () => {
    const r = await inspectJson(fixture('phi3-shakespeare-tiny'));
    expect(r).toMatchObject({
      format: 'safetensors',
      variant: 'phi3',
      dims: { vocabSize: 32064, hiddenSize: 128, nLayers: 6, nHeads: 4, nKvHeads: 4, headDim: 32, intermediateSize: 384 },
      parameters: 5_383_808, // the model card's count
      dtypes: { BF16: 5_383_808 },
      context: { maxPositionEmbeddings: 512, originalMaxPositionEmbeddings: 512, longRope: false, slidingWindow: 256 },
      tokenizer: { kind: 'sentencepiece-bpe', bosId: 1, eosId: 32000, chatTemplate: true },
    });
    const qkv = r.tensorGroups.find((g) => g.name === 'model.layers.*.self_attn.qkv_proj.weight');
    expect(qkv).toEqual({ name: 'model.layers.*.self_attn.qkv_proj.weight', count: 6, shape: [384, 128], dtype: 'BF16', parameters: 6 * 384 * 128 });
    expect(r.tensorGroups.reduce((n, g) => n + g.parameters, 0)).toBe(r.parameters);
  });

  test('text output names variant, parameters, context and tensor groups', async () => {
    const r = await runCli(['inspect', fixture('phi3-shakespeare-tiny')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^variant +phi3$/m);
    expect(r.stdout).toMatch(/^parameters +5\.38 M \(5,383,808\)$/m);
    expect(r.stdout).toMatch(/^context +512 tokens, plain RoPE, sliding window 256$/m);
    expect(r.stdout).toMatch(/model\.layers\.\*\.mlp\.gate_up_proj\.weight +6 × \[768, 128\] BF16/);
  });

  test('LongRoPE fixture: original length reported; a missing tokenizer is reported, not fatal', async () => {
    const r = await inspectJson(fixture('phi3-longrope-tiny'));
    expect(r.context).toMatchObject({ maxPositionEmbeddings: 512, originalMaxPositionEmbeddings: 32, longRope: true });
    expect(r.tokenizer).toHaveProperty('error');
  });

  test('a q8_0 GGUF made by phi3 convert: quantized groups, same parameter count; it generates', async () => {
    const gguf = join(mkdtempSync(join(tmpdir(), 'phi3-inspect-')), 'shakespeare-q8_0.gguf');
    const converted = await runCli(['convert', fixture('phi3-shakespeare-tiny'), '-o', gguf, '--quantize', 'q8_0']);
    expect(converted.code, converted.stderr).toBe(0);
    const r = await inspectJson(gguf);
    expect(r.format).toBe('gguf');
    expect(r.parameters).toBe(5_383_808);
    expect(r.tensorGroups.find((g) => g.name === 'model.layers.*.mlp.down_proj.weight')?.dtype).toBe('Q8_0');
    const g = await runCli(['generate', '-m', gguf, '--raw', '-p', 'ROMEO:', '-n', '8']);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout.length).toBeGreaterThan(0);
  });

  test('missing path → one line, exit 1', async () => {
    const r = await runCli(['inspect', '/nonexistent/model']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: /nonexistent/model: no such file or directory\n');
  });
});
