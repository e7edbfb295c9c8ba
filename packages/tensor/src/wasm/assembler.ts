// A tiny assembler for function bodies written in WebAssembly's text format (one instruction per
// line, `;;` comments), so kernels read like the WAT in the spec rather than as byte arrays.
// Supported: the mnemonics of opcodes.ts; locals and labels by `$name`; `offset=N` on loads and
// stores; `block $l` / `loop $l` … `end`, with `br $l` / `br_if $l` resolved to relative depths.
import { f32, s32, u32 } from './encoding.ts';
import { OPCODES } from './opcodes.ts';

export type ValType = 'i32' | 'f32' | 'v128';

/** Binary value-type codes (spec §5.3.1). */
export const VALTYPE_CODE: Readonly<Record<ValType, number>> = { i32: 0x7f, f32: 0x7d, v128: 0x7b };

/** One exported function: its signature, named locals and text body. */
export interface FunctionSource {
  readonly name: string;
  /** Parameters in order, `$name: type`; all kernels return nothing (results go to memory). */
  readonly params: readonly (readonly [string, ValType])[];
  readonly locals: readonly (readonly [string, ValType])[];
  readonly body: string;
}

/** Thrown when kernel text does not assemble (a bug in this package, never a user error). */
export class AssemblyError extends Error {}

/**
 * Assembles a function body: the locals declaration followed by the instruction bytes, ending with
 * the function's final `end`.
 */
export function assembleBody(fn: FunctionSource): number[] {
  const index = new Map<string, number>();
  for (const [n] of [...fn.params, ...fn.locals]) {
    if (index.has(n)) throw new AssemblyError(`${fn.name}: duplicate local ${n}`);
    index.set(n, index.size);
  }
  const code: number[] = [...u32(fn.locals.length)];
  for (const [, t] of fn.locals) code.push(1, VALTYPE_CODE[t]); // one entry per local: count 1, type
  const labels: string[] = [];
  fn.body.split('\n').forEach((rawLine, lineNo) => {
    const line = rawLine.replace(/;;.*$/, '').trim();
    if (line === '') return;
    const where = `${fn.name} line ${lineNo + 1} "${line}"`;
    const [mnemonic, ...args] = line.split(/\s+/);
    const op = OPCODES[mnemonic];
    if (op === undefined) throw new AssemblyError(`${where}: unknown instruction`);
    const [bytes, imm] = op;
    code.push(...bytes);
    const arg = args[0] ?? '';
    switch (imm) {
      case 'none':
        if (mnemonic === 'end' && labels.pop() === undefined) throw new AssemblyError(`${where}: unmatched end`);
        break;
      case 'local': {
        const i = index.get(arg);
        if (i === undefined) throw new AssemblyError(`${where}: unknown local`);
        code.push(...u32(i));
        break;
      }
      case 'block':
        labels.push(arg);
        code.push(0x40); // empty block type
        break;
      case 'label': {
        const depth = labels.length - 1 - labels.lastIndexOf(arg);
        if (!arg.startsWith('$') || depth >= labels.length) throw new AssemblyError(`${where}: unknown label`);
        code.push(...u32(depth));
        break;
      }
      case 'memarg': {
        const offset = /^offset=(\d+)$/.exec(arg);
        if (arg !== '' && offset === null) throw new AssemblyError(`${where}: expected offset=N`);
        code.push(0, ...u32(offset === null ? 0 : Number(offset[1]))); // alignment hint 2^0: kernels load unaligned
        break;
      }
      case 'i32':
        code.push(...s32(Number(arg)));
        break;
      case 'f32':
        code.push(...f32(Number(arg)));
        break;
      case 'lane':
        code.push(Number(arg));
        break;
      case 'lanes16': {
        const lanes = args.map(Number);
        if (lanes.length !== 16 || lanes.some((l) => !Number.isInteger(l) || l < 0 || l > 31)) throw new AssemblyError(`${where}: expected 16 lane indices in [0, 32)`);
        code.push(...lanes);
        break;
      }
    }
  });
  if (labels.length !== 0) throw new AssemblyError(`${fn.name}: ${labels.length} block(s) not closed`);
  code.push(0x0b); // end of function
  return code;
}
