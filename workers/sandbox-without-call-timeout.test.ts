import { describe, expect, it } from 'vitest';
import { activationWatch, type WorkflowCreator, watchedCreator } from './sandbox-without-call-timeout.js';

describe('activationWatch', () => {
  it('counts a stall only while activations wait, from the last one that finished', () => {
    let now = 1_000;
    const watch = activationWatch(() => now);
    now += 90_000; // idle for long: no stall
    expect(watch.stalledMs()).toBe(0);
    watch.started();
    now += 500;
    expect(watch.stalledMs()).toBe(500);
    watch.started();
    now += 500;
    watch.finished(); // one of two done: progress
    now += 200;
    expect(watch.stalledMs()).toBe(200);
    watch.finished();
    now += 10_000;
    expect(watch.stalledMs()).toBe(0);
  });
});

/** A creator of the SDK's shape whose workflows answer when told to, or never. */
function fakeCreator() {
  const waiting: Array<() => void> = [];
  let destroyed = false;
  const creator = {
    async createWorkflow() {
      return {
        activate: () => new Promise((resolve) => waiting.push(() => resolve({}))),
        getAndResetSinkCalls: async () => [],
        dispose: async () => {},
      };
    },
    async destroy() {
      destroyed = true;
    },
  } as unknown as WorkflowCreator;
  return { creator, waiting, destroyed: () => destroyed };
}

/** The fake creator under a watch of 150 ms, looked at every 20 ms; `told` collects what the watch reported. */
async function watchedFake() {
  const fake = fakeCreator();
  const told: number[] = [];
  const watched = watchedCreator(fake.creator, {
    onStuck: (stalledMs) => told.push(stalledMs),
    stuckAfterMs: 150,
    checkEveryMs: 20,
  });
  return { fake, told, watched, workflow: await watched.createWorkflow({} as never) };
}

describe('watchedCreator', () => {
  it('tells once when activations wait and none finishes in time', async () => {
    const { fake, told, watched, workflow } = await watchedFake();
    void workflow.activate({});
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(told).toHaveLength(1);
    expect(told[0]).toBeGreaterThanOrEqual(150);
    await watched.destroy();
    expect(fake.destroyed()).toBe(true);
  });

  it('stays quiet while activations keep finishing', async () => {
    const { fake, told, watched, workflow } = await watchedFake();
    for (let i = 0; i < 8; i++) {
      const done = workflow.activate({});
      await new Promise((resolve) => setTimeout(resolve, 50));
      fake.waiting.shift()?.();
      await done;
    }
    expect(told).toEqual([]);
    await watched.destroy();
  });
});
