/**
 * Split GGUF checkpoints (llama.cpp `llama-gguf-split`): `name-00001-of-00003.gguf` holds the
 * metadata plus `split.no` = 0, `split.count` = 3 and `split.tensors.count`; the other shards hold
 * the split keys and the rest of the tensors. A one-file GGUF is the one-shard case.
 */
import { WeightsFormatError } from '../errors.ts';
import { fileByteSource, type ByteSource } from './gguf-cursor.ts';
import { ggufInt, parseGgufHeader, type GgufHeader, type GgufTensorInfo } from './gguf.ts';

/** One opened file of a (possibly split) GGUF checkpoint. */
export interface GgufShard {
  readonly path: string;
  readonly file: ByteSource;
  readonly header: GgufHeader;
}

const SHARD_NAME = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/;
/** llama.cpp names shards with five digits; more than this many files is not a real checkpoint. */
const MAX_SHARDS = 9999;

/**
 * Opens a GGUF file and, when it is the first shard of a split checkpoint, every other shard.
 * Each header is validated against its own file; split keys must agree.
 * @throws WeightsFormatError naming the file for missing shards or inconsistent split keys
 */
export function openGgufShards(path: string): GgufShard[] {
  const shards: GgufShard[] = [];
  try {
    shards.push(openShard(path));
    const meta = shards[0].header.metadata;
    const count = meta.has('split.count') ? ggufInt(meta, 'split.count') : 1;
    if (count <= 1) return shards;
    if (count > MAX_SHARDS) throw new WeightsFormatError(`${path}: split.count ${count} is implausible`);
    const match = SHARD_NAME.exec(path);
    if (ggufInt(meta, 'split.no', 0) !== 0 || match === null || Number(match[2]) !== 1 || Number(match[3]) !== count) {
      throw new WeightsFormatError(`${path}: part of a ${count}-file split GGUF; open its first file, named <name>-00001-of-${String(count).padStart(5, '0')}.gguf`);
    }
    for (let i = 1; i < count; i++) {
      const shard = openShard(`${match[1]}-${String(i + 1).padStart(5, '0')}-of-${match[3]}.gguf`);
      shards.push(shard);
      const m = shard.header.metadata;
      if (ggufInt(m, 'split.no', -1) !== i || ggufInt(m, 'split.count', -1) !== count) {
        throw new WeightsFormatError(`${shard.path}: split.no/split.count do not say shard ${i} of ${count}`);
      }
    }
    const expected = ggufInt(meta, 'split.tensors.count', -1);
    const total = shards.reduce((n, s) => n + s.header.tensors.length, 0);
    if (expected >= 0 && expected !== total) throw new WeightsFormatError(`${path}: split.tensors.count is ${expected}, the shards hold ${total}`);
    return shards;
  } catch (err) {
    for (const s of shards) s.file.close();
    throw err;
  }
}

function openShard(path: string): GgufShard {
  const file = fileByteSource(path);
  try {
    return { path, file, header: parseGgufHeader(file, path) };
  } catch (err) {
    file.close();
    throw err;
  }
}

/**
 * The checkpoint's metadata (from the first shard) with the tensors of every shard, each tagged
 * with the shard that holds it.
 * @throws WeightsFormatError when two shards hold a tensor of the same name
 */
export function mergeShards(shards: readonly GgufShard[]): { header: GgufHeader; shardOf: Map<string, GgufShard> } {
  const shardOf = new Map<string, GgufShard>();
  const tensors: GgufTensorInfo[] = [];
  for (const shard of shards) {
    for (const t of shard.header.tensors) {
      if (shardOf.has(t.name)) throw new WeightsFormatError(`${shard.path}: tensor "${t.name}" is also in ${shardOf.get(t.name)!.path}`);
      shardOf.set(t.name, shard);
      tensors.push(t);
    }
  }
  return { header: { ...shards[0].header, tensors }, shardOf };
}
