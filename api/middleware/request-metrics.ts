// Records every request's latency by route pattern (not raw path, to keep label cardinality bounded).
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Metrics } from '../../core/metrics.js';

export function requestMetrics(metrics: Metrics): MiddlewareHandler {
  return async (c, next) => {
    const end = metrics.httpRequests.startTimer();
    try {
      await next();
    } finally {
      end({ method: c.req.method, route: routePath(c) ?? 'unmatched', status: String(c.res.status) });
    }
  };
}
