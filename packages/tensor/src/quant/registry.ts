// The one dispatch table of block-quantized weight formats. Adding a format = one module exporting a
// `BlockFormat` + one line here.
import { ShapeError } from '../errors.ts';
import type { BlockFormat } from './format.ts';
import { Q4_0 } from './q4_0.ts';
import { Q8_0 } from './q8_0.ts';
import { GGUF_FORMATS } from './gguf-formats.ts';

/** GGUF/ggml type name -> its block codec; every QuantizedMatrix dispatches through this table. */
export const QUANT_FORMATS = {
  q8_0: Q8_0,
  q4_0: Q4_0,
  ...GGUF_FORMATS,
} as const satisfies Record<string, BlockFormat>;

/** Names of the registered quantized formats ('q8_0' | 'q4_0' | ...). */
export type QuantFormatName = keyof typeof QUANT_FORMATS;

/** True when `name` is a registered quantized format. */
export function isQuantFormat(name: string): name is QuantFormatName {
  return Object.hasOwn(QUANT_FORMATS, name);
}

/** The format module for `name`; throws ShapeError for unknown names. */
export function blockFormat(name: string): BlockFormat {
  if (!isQuantFormat(name)) throw new ShapeError(`unknown quantized format '${name}' (known: ${Object.keys(QUANT_FORMATS).join(', ')})`);
  return QUANT_FORMATS[name];
}
