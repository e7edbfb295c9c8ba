// Relaxed SIMD (WebAssembly's relaxed-simd proposal, standardized in 2024) adds the int8 dot product
// x86 has had since SSSE3 (`pmaddubsw`). V8 ships it by default from 11.4; Node 20 has V8 11.3, where
// it is complete but behind --experimental-wasm-relaxed-simd. We turn that flag on at run time (before
// the kernel module is compiled) and keep the relaxed kernel only when a probe module validates, so
// every other engine runs the plain SIMD128 kernels. PHI3_NO_RELAXED_SIMD=1 turns it off (to compare).
import { setFlagsFromString } from 'node:v8';
import { buildModule } from './module.ts';

let available: boolean | undefined;

/** True when this engine validates relaxed-SIMD instructions (enabling them if they are behind a flag). */
export function relaxedSimdAvailable(): boolean {
  if (available === undefined) {
    if (process.env.PHI3_NO_RELAXED_SIMD === '1') return (available = false);
    const probe = buildModule([{
      name: 'probe',
      params: [],
      locals: [['$v', 'v128']],
      body: `
  local.get $v
  local.get $v
  i16x8.relaxed_dot_i8x16_i7x16_s
  local.set $v`,
    }], { initialPages: 1, maximumPages: 1, shared: false });
    if (!WebAssembly.validate(probe)) setFlagsFromString('--experimental-wasm-relaxed-simd');
    available = WebAssembly.validate(probe);
  }
  return available;
}
