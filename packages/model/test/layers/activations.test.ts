import { describe, expect, it } from 'vitest';
import { ActivationBuffers, activation } from '../../src/layers/activations.ts';

describe('ActivationBuffers', () => {
  it('hands out the same memory for a name, a prefix of it for shorter lengths, and grows when asked for more', () => {
    const buffers = new ActivationBuffers();
    const a = buffers.take('norm', 8);
    a.fill(3);
    const b = buffers.take('norm', 8);
    expect(b.buffer).toBe(a.buffer);
    expect([...b]).toEqual(Array(8).fill(3)); // contents last until overwritten
    const shorter = buffers.take('norm', 4);
    expect(shorter.buffer).toBe(a.buffer);
    expect(shorter.length).toBe(4);
    const longer = buffers.take('norm', 16);
    expect(longer.buffer).not.toBe(a.buffer);
    expect(longer.length).toBe(16);
    expect(buffers.take('qkv', 8).buffer).not.toBe(longer.buffer); // names are separate
  });

  it('gives fresh zeroed arrays above 16 MiB, and without buffers', () => {
    const buffers = new ActivationBuffers();
    const big = buffers.take('qkv', 4 * 1024 * 1024 + 1);
    big[0] = 1;
    expect(buffers.take('qkv', 4 * 1024 * 1024 + 1)[0]).toBe(0);
    const fresh = activation(undefined, 'norm', 4);
    fresh[0] = 1;
    expect(activation(undefined, 'norm', 4)[0]).toBe(0);
  });
});
