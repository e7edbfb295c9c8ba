// loadModel / openCheckpoint: the one loading path the CLI and verify share (open → place → wire).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../src/errors.ts';
import { loadModel, openCheckpoint } from '../src/model.ts';

const SHAKESPEARE = new URL('../../../fixtures/phi3-shakespeare-tiny/', import.meta.url).pathname;

describe('openCheckpoint / loadModel', () => {
  test('opens a folder without reading tensors; onProgress counts every read up to the tensor count', () => {
    const { format, config, weights } = openCheckpoint(SHAKESPEARE);
    expect(format).toBe('safetensors');
    const total = weights.names().length;
    weights.close();
    const seen: [number, number][] = [];
    const model = loadModel(SHAKESPEARE, { onProgress: (reads, all) => seen.push([reads, all]) });
    expect(model.config).toEqual(config);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.map(([r]) => r)).toEqual(seen.map((_, i) => i + 1)); // one call per read, in order
    expect(seen.every(([, all]) => all === total)).toBe(true);
    expect(seen.length).toBeLessThanOrEqual(total); // a tied head is read once
    model.close();
  });

  test('dtype quantizes the matrices in memory', () => {
    const model = loadModel(SHAKESPEARE, { dtype: 'q8_0' });
    expect(model.weights.getMatrix('model.layers.0.self_attn.qkv_proj.weight').format).toBe('q8_0');
    model.close();
  });

  test('a missing path or a plain file that is not GGUF is a ConfigError naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'phi3-load-'));
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'not a model');
    expect(() => loadModel(join(dir, 'missing'))).toThrow(ConfigError);
    expect(() => loadModel(join(dir, 'missing'))).toThrow(/missing: no such file or directory/);
    expect(() => openCheckpoint(file)).toThrow(/notes\.txt: expected a model folder \(config\.json \+ \*\.safetensors\) or a GGUF file/);
  });
});
