import { describe, expect, it } from 'vitest';
import { createSendGate } from './stream-backpressure.js';

describe('createSendGate', () => {
  it('holds delivery back while the buffer is over its bound and calls a stall once it stayed full too long', () => {
    let buffered = 0;
    let clock = 0;
    let stalls = 0;
    const gate = createSendGate({
      buffered: () => buffered,
      onStall: () => {
        stalls += 1;
      },
      limitBytes: 100,
      stallMs: 1000,
      now: () => clock,
    });
    expect(gate.canDeliver()).toBe(true);
    buffered = 101;
    expect(gate.canDeliver()).toBe(false);
    clock = 900;
    expect(gate.canDeliver()).toBe(false);
    buffered = 50;
    expect(gate.canDeliver()).toBe(true);
    buffered = 200;
    clock = 1000;
    expect(gate.canDeliver()).toBe(false);
    clock = 1999;
    expect(gate.canDeliver()).toBe(false);
    expect(stalls).toBe(0);
    clock = 2000;
    expect(gate.canDeliver()).toBe(false);
    expect(stalls).toBe(1);
    buffered = 0;
    expect(gate.canDeliver()).toBe(false);
    expect(stalls).toBe(1);
  });
});
