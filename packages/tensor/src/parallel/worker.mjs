// A matvec worker thread (plain JavaScript so it runs without a TypeScript loader). It instantiates
// the kernel module over each shared weight memory it is sent, then loops: wait for a job in its
// control slot, run one kernel call on its slice of rows, report done. Numbers: protocol.ts.
import { receiveMessageOnPort, workerData } from 'node:worker_threads';

const SLOT_INTS = 16, SEQ = 0, DONE = 1, OP = 2, REGION = 3, FN = 4, FAILED = 5, ARG0 = 6;
const OP_CALL = 1, OP_ADD_REGION = 2, OP_EXIT = 3;
const SPIN_MS = 2; // protocol.ts: poll this long before sleeping
const KERNEL_NAMES = ['f32_matvec', 'q8_0_groups', 'q4_0_groups', 'q4_0_i8_groups', 'f32_matmul', 'q4_k_matvec', 'q6_k_matvec', 'q5_k_matvec', 'f16_matmul', 'q4_k_i8_matvec', 'q5_k_i8_matvec', 'q8_0_tiles', 'q4_0_tiles', 'q4_0_i8_tiles', 'swiglu', 'quantize_x_i16', 'quantize_x_i8', 'quantize_x_i8_halves', 'q4_k_i8_tiles', 'f16_panels', 'q6_k_tiles', 'q5_k_tiles', 'attn_tokens', 'rms_norm', 'attn_decode'];

const { control, slot, port, module } = workerData;
const ctrl = new Int32Array(control, slot * SLOT_INTS * 4, SLOT_INTS);
const kernels = []; // one instance per weight memory, in the order the arena created them
let seen = 0;
for (;;) {
  const deadline = performance.now() + SPIN_MS; // the next job usually comes within a ms
  while (Atomics.load(ctrl, SEQ) === seen && performance.now() < deadline) {
    for (let i = 0; i < 1000 && Atomics.load(ctrl, SEQ) === seen; i++);
  }
  Atomics.wait(ctrl, SEQ, seen); // returns at once if a job was posted before we got here
  seen = Atomics.load(ctrl, SEQ);
  const op = ctrl[OP];
  if (op === OP_EXIT) break;
  try {
    if (op === OP_ADD_REGION) {
      const { memory } = receiveMessageOnPort(port).message; // posted before the job was signalled
      kernels.push(new WebAssembly.Instance(module, { env: { memory } }).exports);
    } else if (op === OP_CALL) {
      const a = ctrl.subarray(ARG0, ARG0 + 10);
      kernels[ctrl[REGION]][KERNEL_NAMES[ctrl[FN]]](a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
    }
    ctrl[FAILED] = 0;
  } catch {
    ctrl[FAILED] = 1; // reported by the main thread's wait(); never leave it waiting forever
  }
  Atomics.store(ctrl, DONE, seen);
  Atomics.notify(ctrl, DONE);
}
port.close();
