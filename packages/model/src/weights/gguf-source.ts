/**
 * WeightSource over a GGUF file (or the shards of a split one): answers Hugging Face tensor names (translated through
 * gguf-names.ts) so the shared variant code loads GGUF unchanged. Tensors are read lazily, one at
 * a time; 2-D weights in F16/BF16/Q* stay in their GGUF bytes inside a WeightMatrix and are
 * multiplied block by block, never expanded to f32.
 */
import { blockFormat, isQuantFormat, matrixFromStored, type QuantFormatName, type StoredMatrix, type WeightMatrix } from '@phi3/tensor';
import { WeightsFormatError } from '../errors.ts';
import type { ByteSource } from './gguf-cursor.ts';
import type { GgufTensorInfo } from './gguf.ts';
import { mergeShards, type GgufShard } from './gguf-split.ts';
import { GgmlType } from './gguf-types.ts';
import type { TensorNamePair } from './gguf-names.ts';
import type { TensorInfo, WeightSource } from './source.ts';

/**
 * Reads one tensor's raw bytes and widens them to f32.
 * @returns [nElements] f32 (a fresh array)
 * @throws WeightsFormatError for ggml types we cannot decode (IQ*, Q2_K, Q3_K, ...)
 */
export function readGgufTensorF32(file: ByteSource, t: GgufTensorInfo, label: string): Float32Array {
  if (t.type === GgmlType.F32) return new Float32Array(file.read(t.offset, t.byteLength).buffer, 0, t.nElements); // a fresh copy at byteOffset 0
  const format = blockFormat(decodableFormat(t, label)); // before reading or allocating anything
  const out = new Float32Array(t.nElements);
  format.dequantizeRowInto(out, 0, file.read(t.offset, t.byteLength), 0, t.nElements);
  return out;
}

/** Our BlockFormat name for a GGUF tensor type ('q4_k', 'f16', ...), or a WeightsFormatError. */
function decodableFormat(t: GgufTensorInfo, label: string): QuantFormatName {
  const name = t.typeName.toLowerCase();
  if (!isQuantFormat(name)) {
    throw new WeightsFormatError(`${label}: tensor "${t.name}" has type ${t.typeName}, which phi3.ts cannot decode (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)`);
  }
  return name;
}

/**
 * Expert e of a stacked expert tensor [E, rows, cols] as a tensor of its own: experts are stored one
 * after another, so its bytes are the e-th of E equal parts.
 */
function expertSlice(t: GgufTensorInfo, e: number, label: string): GgufTensorInfo {
  if (t.shape.length !== 3 || e >= t.shape[0]) {
    throw new WeightsFormatError(`${label}: tensor "${t.name}" has shape [${t.shape.join(', ')}]; expected [experts > ${e}, rows, cols]`);
  }
  const bytes = t.byteLength / t.shape[0];
  return {
    ...t,
    name: `${t.name}[${e}]`,
    ne: t.ne.slice(0, 2),
    shape: t.shape.slice(1),
    nElements: t.nElements / t.shape[0],
    offset: t.offset + e * bytes,
    byteLength: bytes,
  };
}

/** A GGUF checkpoint's tensors (one file or every shard of a split one) under their HF names. */
export class GgufSource implements WeightSource {
  private readonly byHfName = new Map<string, { info: GgufTensorInfo; file: ByteSource }>();

  /**
   * @param shards the opened file(s) of the checkpoint (gguf-split.ts); closed by `close()`
   * @param names  the HF ↔ GGUF name table of the architecture; GGUF tensors it does not list
   *               (e.g. rope factors, read into the config instead) are not exposed
   */
  constructor(
    readonly description: string,
    private readonly shards: readonly GgufShard[],
    names: readonly TensorNamePair[],
  ) {
    const { header, shardOf } = mergeShards(shards);
    const byGguf = new Map(header.tensors.map((t) => [t.name, t]));
    for (const { hf, gguf, expert } of names) {
      const t = byGguf.get(gguf);
      if (t === undefined) continue;
      const info = expert === undefined ? t : expertSlice(t, expert, description);
      this.byHfName.set(hf, { info, file: shardOf.get(gguf)!.file });
    }
  }

  names(): string[] {
    return [...this.byHfName.keys()];
  }

  has(name: string): boolean {
    return this.byHfName.has(name);
  }

  info(name: string): TensorInfo {
    const { info } = this.lookup(name);
    return { name, shape: info.shape, dtype: info.typeName };
  }

  getF32(name: string): Float32Array {
    const { info, file } = this.lookup(name);
    return readGgufTensorF32(file, info, this.description);
  }

  /** [rows, cols] = [ne[1], ne[0]]; F32 dense, everything else kept in its GGUF block bytes. */
  getMatrix(name: string): WeightMatrix {
    return matrixFromStored(this.getStoredMatrix(name));
  }

  /** Every 2-D tensor as stored (F32, or the GGUF block bytes getMatrix keeps), read on demand. */
  getStoredMatrix(name: string): StoredMatrix {
    const { info: t, file } = this.lookup(name);
    const [rows, cols] = this.matrixShape(name, t);
    const format = t.type === GgmlType.F32 ? 'f32' : decodableFormat(t, this.description);
    return {
      format,
      rows,
      cols,
      readBytes: (into, offset) => {
        if (offset < 0 || offset + into.length > t.byteLength) {
          throw new WeightsFormatError(`${this.description}: bytes [${offset}, ${offset + into.length}) are outside tensor "${t.name}" (${t.byteLength} bytes)`);
        }
        file.readInto(into, t.offset + offset);
      },
    };
  }

  close(): void {
    for (const s of this.shards) s.file.close();
  }

  /** [rows, cols] of a 2-D tensor (WeightsFormatError otherwise). */
  private matrixShape(name: string, t: GgufTensorInfo): [number, number] {
    if (t.shape.length !== 2) throw new WeightsFormatError(`${this.description}: tensor "${name}" is not 2-D (shape [${t.shape.join(', ')}])`);
    return [t.shape[0], t.shape[1]];
  }

  private lookup(name: string): { info: GgufTensorInfo; file: ByteSource } {
    const hit = this.byHfName.get(name);
    if (hit === undefined) throw new WeightsFormatError(`${this.description}: missing tensor "${name}"`);
    return hit;
  }
}
