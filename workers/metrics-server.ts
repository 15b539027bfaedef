// The HTTP side of a worker-only process, which serves no API: GET /metrics for Prometheus, plus /healthz
// (the process answers) and /readyz (the worker is polling) for container and Kubernetes probes.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from '../core/metrics.js';

export interface MetricsServer {
  url: string;
  stop(): Promise<void>;
}

export async function startMetricsServer(
  metrics: Metrics,
  options: { host: string; port: number; isReady: () => boolean },
): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET') return send(response, 405, 'application/json', '{"error":"method not allowed"}');
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => send(response, 200, metrics.registry.contentType, text),
        () => send(response, 500, 'application/json', '{"error":"metrics collection failed"}'),
      );
      return;
    }
    if (path === '/healthz') return send(response, 200, 'application/json', '{"status":"ok"}');
    if (path === '/readyz') {
      const ready = options.isReady();
      return send(response, ready ? 200 : 503, 'application/json', `{"status":"${ready ? 'ready' : 'unavailable'}"}`);
    }
    send(response, 404, 'application/json', '{"error":"not found"}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`METRICS_PORT ${options.port} on ${options.host} is already in use`)
          : error,
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  return { url: `http://${host}:${port}`, stop: () => close(server) };
}

function send(response: ServerResponse, status: number, type: string, body: string) {
  response.writeHead(status, { 'content-type': type }).end(body);
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
