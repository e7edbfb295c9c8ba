// Builds a whole WebAssembly module (spec §5.5): one imported memory `env.memory` that all functions
// read weights and activations from, and the exported kernel functions.
import { VALTYPE_CODE, assembleBody, type FunctionSource } from './assembler.ts';
import { name, u32, vec } from './encoding.ts';

const MAGIC_AND_VERSION = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const SECTION = { type: 1, import: 2, function: 3, export: 7, code: 10 } as const;

function section(id: number, content: number[]): number[] {
  return [id, ...u32(content.length), ...content];
}

/** Limits of the imported memory, in 64 KiB pages; `shared` memories need a maximum. */
export interface MemoryLimits {
  readonly initialPages: number;
  readonly maximumPages: number;
  readonly shared: boolean;
}

/**
 * Encodes a module importing `env.memory` with `memory` limits and exporting each function under its
 * name. Every function has its own type entry (types are tiny; deduplicating them is not worth code).
 */
export function buildModule(functions: readonly FunctionSource[], memory: MemoryLimits): Uint8Array {
  const types = functions.map((f) => [0x60, ...vec(f.params.map(([, t]) => [VALTYPE_CODE[t]])), ...vec([])]);
  const limitsFlag = memory.shared ? 0x03 : 0x01; // 0x01: min and max; 0x03: min, max, shared
  const memoryImport = [...name('env'), ...name('memory'), 0x02, limitsFlag, ...u32(memory.initialPages), ...u32(memory.maximumPages)];
  const exports = functions.map((f, i) => [...name(f.name), 0x00, ...u32(i)]);
  const bodies = functions.map((f) => {
    const body = assembleBody(f);
    return [...u32(body.length), ...body];
  });
  return new Uint8Array([
    ...MAGIC_AND_VERSION,
    ...section(SECTION.type, vec(types)),
    ...section(SECTION.import, vec([memoryImport])),
    ...section(SECTION.function, vec(functions.map((_, i) => u32(i)))),
    ...section(SECTION.export, vec(exports)),
    ...section(SECTION.code, vec(bodies)),
  ]);
}
