import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../core/metrics.js';
import { type MetricsServer, startMetricsServer } from './metrics-server.js';

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('the worker metrics server', () => {
  it('serves the registry at /metrics in the Prometheus text format', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.runsStarted.inc({ channel: 'feishu' }, 3);
    server = await startMetricsServer(metrics, { host: '127.0.0.1', port: 0, isReady: () => true });
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(metrics.registry.contentType);
    expect(await response.text()).toContain('conduit_runs_started_total{channel="feishu"} 3');
  });

  it('answers /readyz with 503 while the worker is not polling and 200 once it is', async () => {
    let ready = false;
    server = await startMetricsServer(createMetrics({ defaultMetrics: false }), {
      host: '127.0.0.1',
      port: 0,
      isReady: () => ready,
    });
    const notReady = await fetch(`${server.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'unavailable' });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    ready = true;
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  it('refuses other paths and methods', async () => {
    server = await startMetricsServer(createMetrics({ defaultMetrics: false }), {
      host: '127.0.0.1',
      port: 0,
      isReady: () => true,
    });
    expect((await fetch(`${server.url}/v1/messages`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('names METRICS_PORT when the port is taken', async () => {
    server = await startMetricsServer(createMetrics({ defaultMetrics: false }), {
      host: '127.0.0.1',
      port: 0,
      isReady: () => true,
    });
    const port = Number(new URL(server.url).port);
    await expect(
      startMetricsServer(createMetrics({ defaultMetrics: false }), { host: '127.0.0.1', port, isReady: () => true }),
    ).rejects.toThrow(`METRICS_PORT ${port} on 127.0.0.1 is already in use`);
  });
});
