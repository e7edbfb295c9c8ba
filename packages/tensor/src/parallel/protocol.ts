// The hand-off protocol between the main thread and the matvec workers (worker.mjs mirrors these
// numbers; keep both in sync). Each worker owns a slot of SLOT_INTS i32 in a SharedArrayBuffer:
//   [SEQ]    job number, bumped by the main thread to start a job (the worker Atomics.waits on it)
//   [DONE]   last job number finished, stored by the worker (the main thread Atomics.waits on it)
//   [OP]     what to do: CALL a kernel, ADD_REGION (receive a memory), EXIT
//   [REGION] which weight memory's kernel instance to call
//   [FN]     index into KERNEL_NAMES
//   [FAILED] 1 when the worker's last job threw (a wasm trap): the main thread raises it
//   [ARG0..] up to MAX_ARGS i32 kernel arguments
export const SLOT_INTS = 16;
export const SEQ = 0;
export const DONE = 1;
export const OP = 2;
export const REGION = 3;
export const FN = 4;
export const FAILED = 5;
export const ARG0 = 6;
export const MAX_ARGS = 10;

/**
 * How long either side polls with Atomics.load before it sleeps in Atomics.wait. Waking a sleeping
 * thread costs a futex round trip (≈ 50 µs per hand-off on this VM), and during a prefill the main
 * thread runs 0.1–2 ms of serial work (norms, residual adds, RoPE) between two parallel kernels, so a
 * worker that slept after 20 000 polls (≈ 50 µs) started most jobs late: at two threads the main
 * thread waited 22 ms per 32-token phi-3-mini Q4_0 prefill, 9 ms with 2 ms of polling (alternating
 * runs, medians: prefill 32.3 → 34.1 tok/s, decode 16.5 → 17.7). ggml's thread pool polls the same
 * way. An idle worker sleeps after SPIN_MS, so it costs nothing.
 */
export const SPIN_MS = 2;

export const OP_CALL = 1;
export const OP_ADD_REGION = 2;
export const OP_EXIT = 3;

/** Kernels a worker may run on a slice of rows, by FN index. */
export const KERNEL_NAMES = ['f32_matvec', 'q8_0_groups', 'q4_0_groups', 'q4_0_i8_groups', 'f32_matmul', 'q4_k_matvec', 'q6_k_matvec', 'q5_k_matvec', 'f16_matmul', 'q4_k_i8_matvec', 'q5_k_i8_matvec', 'q8_0_tiles', 'q4_0_tiles', 'q4_0_i8_tiles', 'swiglu', 'quantize_x_i16', 'quantize_x_i8', 'quantize_x_i8_halves', 'q4_k_i8_tiles', 'f16_panels', 'q6_k_tiles', 'q5_k_tiles', 'attn_tokens', 'rms_norm', 'attn_decode'] as const;
export type ParallelKernel = (typeof KERNEL_NAMES)[number];
