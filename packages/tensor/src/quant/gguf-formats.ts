// The block formats found in llama.cpp GGUF files beyond Q8_0/Q4_0, grouped so registry.ts lists
// them with one line. Q4_K_M files mix Q4_K and Q6_K (plus F32 norms); Q5_K_M mixes Q5_K and Q6_K.
import { BF16, F16 } from './f16.ts';
import { Q4_1 } from './q4_1.ts';
import { Q4_K } from './q4_k.ts';
import { Q5_0 } from './q5_0.ts';
import { Q5_1 } from './q5_1.ts';
import { Q5_K } from './q5_k.ts';
import { Q6_K } from './q6_k.ts';

export const GGUF_FORMATS = { f16: F16, bf16: BF16, q4_1: Q4_1, q5_0: Q5_0, q5_1: Q5_1, q4_k: Q4_K, q5_k: Q5_K, q6_k: Q6_K } as const;
