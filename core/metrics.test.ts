import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';

describe('createMetrics', () => {
  it('gives the `_total` suffix to counters only, default collector included (promtool lint)', async () => {
    const { registry } = createMetrics();
    const metrics = await registry.getMetricsAsJSON();
    expect(metrics.map((metric) => metric.name)).toContain('conduit_nodejs_active_handles');
    const misnamed = metrics
      .filter((metric) => metric.name.endsWith('_total') && metric.type.toString() !== 'counter')
      .map((metric) => `${metric.name} (${metric.type})`);
    expect(misnamed).toEqual([]);
  });
});
