// Split GGUF checkpoints (llama-gguf-split layout): opening the first shard brings the others, the
// model equals the one-file GGUF, and shards that are missing, out of order or inconsistent are
// typed errors naming the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel, loadModel, readModelConfig } from '../../src/model.ts';
import { WeightsFormatError } from '../../src/errors.ts';
import { openSafetensorsFolder } from '../../src/weights/source.ts';
import { ggufModelMetadata, ggufModelTensors, type GgufExportConfig } from '../../src/weights/gguf-export.ts';
import { openGgufCheckpoint } from '../../src/weights/gguf-model.ts';
import { encodeGguf, kv, type GgufTensorToWrite, type GgufTypedValue } from '../../src/weights/gguf-writer.ts';
import { GgufValueType } from '../../src/weights/gguf-types.ts';

const ROOT = join(import.meta.dirname, '../../../..');
const DIR = join(ROOT, 'fixtures/phi3-gqa-tiny');

let tmp: string;
let tensors: GgufTensorToWrite[];
let metadata: Map<string, GgufTypedValue>;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'phi3-gguf-split-'));
  const config = readModelConfig(DIR).config as GgufExportConfig;
  const source = openSafetensorsFolder(DIR);
  metadata = ggufModelMetadata(config, 'split', 'q8_0');
  // Materialize the bytes now so the source can be closed.
  tensors = ggufModelTensors(config, source, 'q8_0').map((t) => {
    const bytes = t.data();
    return { ...t, data: () => bytes };
  });
  source.close();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const u16 = (value: number): GgufTypedValue => ({ type: GgufValueType.UINT16, value });

/** Writes `parts` shards named like llama-gguf-split does; returns their paths. */
function writeSplit(name: string, parts: number, edit: (shard: number, meta: Map<string, GgufTypedValue>) => void = () => {}): string[] {
  const per = Math.ceil(tensors.length / parts);
  return Array.from({ length: parts }, (_, i) => {
    const meta = new Map<string, GgufTypedValue>(i === 0 ? metadata : []);
    meta.set('split.no', u16(i));
    meta.set('split.count', u16(parts));
    meta.set('split.tensors.count', kv.i32(tensors.length));
    edit(i, meta);
    const path = join(tmp, `${name}-${String(i + 1).padStart(5, '0')}-of-${String(parts).padStart(5, '0')}.gguf`);
    writeFileSync(path, encodeGguf(meta, tensors.slice(i * per, (i + 1) * per)));
    return path;
  });
}

describe('split GGUF', () => {
  it('loads from its first shard and equals the one-file GGUF', () => {
    const [first] = writeSplit('ok', 3);
    const whole = join(tmp, 'whole.gguf');
    writeFileSync(whole, encodeGguf(metadata, tensors));
    const ids = [1, 7, 300, 42, 5];
    const run = (path: string) => {
      const model = loadModel(path);
      const logits = model.forward(ids, model.createCache(ids.length), { allLogits: true });
      model.close();
      return logits;
    };
    expect(run(first)).toEqual(run(whole));
    const { config, weights } = openGgufCheckpoint(first);
    expect(weights.names()).toHaveLength(tensors.length);
    buildModel(config, weights).close();
  });

  it('rejects a later shard, a missing shard and inconsistent split keys', () => {
    const paths = writeSplit('bad', 2);
    expect(() => openGgufCheckpoint(paths[1])).toThrow(/part of a 2-file split GGUF; open its first file/);
    rmSync(paths[1]);
    expect(() => openGgufCheckpoint(paths[0])).toThrow(WeightsFormatError);
    const wrongNo = writeSplit('wrongno', 2, (i, m) => i === 1 && m.set('split.no', u16(0)));
    expect(() => openGgufCheckpoint(wrongNo[0])).toThrow(/split.no\/split.count do not say shard 1 of 2/);
    const wrongCount = writeSplit('wrongcount', 2, (i, m) => i === 0 && m.set('split.tensors.count', kv.i32(3)));
    expect(() => openGgufCheckpoint(wrongCount[0])).toThrow(/split.tensors.count is 3/);
  });
});
