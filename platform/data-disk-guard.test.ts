import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../core/metrics.js';
import { createDataDiskGuard } from './data-disk-guard.js';

const EXABYTE = 2 ** 60;

describe('createDataDiskGuard', () => {
  it('takes messages while more than the minimum is free, and is off at 0', async () => {
    expect(await createDataDiskGuard({ dir: tmpdir(), minFreeBytes: 1 })()).toBeUndefined();
    expect(await createDataDiskGuard({ dir: tmpdir(), minFreeBytes: 0 })()).toBeUndefined();
  });

  it('says why, in MiB, when less is free than the minimum, and sets the disk gauges', async () => {
    const metrics = createMetrics();
    const refusal = await createDataDiskGuard({ dir: tmpdir(), minFreeBytes: EXABYTE, metrics })();
    expect(refusal).toMatch(/^the data directory's disk is nearly full \(\d+ MiB free, 1099511627776 MiB needed\)/);
    const ratio = (await metrics.dataDirDiskUsedRatio.get()).values[0]?.value;
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThanOrEqual(1);
  });

  it('reads the file system at most once a second, and treats an unreadable directory as not full', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'disk-guard-'));
    let now = 0;
    const guard = createDataDiskGuard({ dir, minFreeBytes: EXABYTE, now: () => now });
    expect(await guard()).toMatch(/nearly full/);
    await rm(dir, { recursive: true });
    now += 999;
    expect(await guard()).toMatch(/nearly full/);
    now += 1;
    expect(await guard()).toBeUndefined();
  });
});
