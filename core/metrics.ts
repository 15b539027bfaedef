// Prometheus instruments (prom-client) on a registry per process, so tests and side-by-side instances never
// share counters. Names follow Prometheus conventions: conduit_<thing>_<unit>.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * Gauges of prom-client's default collector whose `_total` suffix marks a counter in Prometheus' conventions
 * (promtool's lint fails on them). Each repeats the sum of the gauge of the same name without the suffix,
 * which carries a `type` label (`sum(conduit_nodejs_active_handles)`), so they are dropped, not renamed.
 */
const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry, prefix: 'conduit_' });
    for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(`conduit_${name}`);
  }
  const registers = [registry];
  return {
    registry,
    httpRequests: new Histogram({
      name: 'conduit_http_request_duration_seconds',
      help: 'HTTP request latency by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    inboundMessages: new Counter({
      name: 'conduit_inbound_messages_total',
      help: 'Webhook deliveries by channel and outcome (accepted, duplicate, ignored, rejected)',
      labelNames: ['channel', 'outcome', 'reason'] as const,
      registers,
    }),
    runsStarted: new Counter({
      name: 'conduit_runs_started_total',
      help: 'Pipeline runs started, by channel',
      labelNames: ['channel'] as const,
      registers,
    }),
    runsFinished: new Counter({
      name: 'conduit_runs_finished_total',
      help: 'Pipeline runs finished, by outcome (replied, refused, cancelled, failed)',
      labelNames: ['channel', 'outcome'] as const,
      registers,
    }),
    stepDuration: new Histogram({
      name: 'conduit_pipeline_step_duration_seconds',
      help: 'Time spent in each pipeline activity',
      labelNames: ['step', 'result'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    llmCalls: new Histogram({
      name: 'conduit_llm_call_duration_seconds',
      help: 'LLM call latency by provider, model and result',
      labelNames: ['provider', 'model', 'result'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    llmTokens: new Counter({
      name: 'conduit_llm_tokens_total',
      help: 'Tokens used, by provider, model and kind (prompt, completion)',
      labelNames: ['provider', 'model', 'kind'] as const,
      registers,
    }),
    llmCacheHits: new Counter({
      name: 'conduit_llm_cache_hits_total',
      help: 'Model requests answered from the response cache, without a call, by provider and model',
      labelNames: ['provider', 'model'] as const,
      registers,
    }),
    llmBreakerOpen: new Gauge({
      name: 'conduit_llm_breaker_open',
      help: 'Whether a model provider is held back by its circuit breaker in this process (1 open or probing, 0 closed)',
      labelNames: ['provider'] as const,
      registers,
    }),
    toolCalls: new Histogram({
      name: 'conduit_tool_call_duration_seconds',
      help: 'Tool call latency by tool and result',
      labelNames: ['tool', 'result'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    repliesSent: new Counter({
      name: 'conduit_replies_sent_total',
      help: 'Messages sent to chat platforms, by channel and kind; deduplicated re-sends are counted as skipped',
      labelNames: ['channel', 'kind', 'result'] as const,
      registers,
    }),
    streamWatchers: new Gauge({
      name: 'conduit_stream_watchers',
      help: 'Streaming connections following runs now, by channel (ws: WebSocket connections, grpc: WatchRun calls)',
      labelNames: ['channel'] as const,
      registers,
    }),
    streamSlowClientsCutOff: new Counter({
      name: 'conduit_stream_slow_clients_cut_off_total',
      help: 'Streaming connections closed because the client stopped reading and its send buffer filled, by channel',
      labelNames: ['channel'] as const,
      registers,
    }),
    pendingJobs: new Gauge({
      name: 'conduit_pending_jobs',
      help: 'Reminders and approvals waiting, by kind (the jobs table, the same in every process: aggregate with max)',
      labelNames: ['kind'] as const,
      registers,
    }),
    dataDirDiskUsedRatio: new Gauge({
      name: 'conduit_data_dir_disk_used_ratio',
      help: 'Share of the data directory file system in use, as df counts it: used / (used + available)',
      registers,
    }),
    dataDirDiskUsedBytes: new Gauge({
      name: 'conduit_data_dir_disk_used_bytes',
      help: 'Bytes in use on the data directory file system',
      registers,
    }),
    dataDirDiskAvailableBytes: new Gauge({
      name: 'conduit_data_dir_disk_available_bytes',
      help: 'Bytes still available to Conduit on the data directory file system',
      registers,
    }),
    temporalDevServerRestarts: new Counter({
      name: 'conduit_temporal_dev_server_restarts_total',
      help: 'Restarts of the embedded Temporal dev server after it exited on its own (npm start only)',
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Times an async call into a histogram with a result label. */
export async function timed<T>(
  histogram: Histogram<string>,
  labels: Record<string, string>,
  fn: () => Promise<T>,
): Promise<T> {
  const end = histogram.startTimer(labels);
  try {
    const value = await fn();
    end({ result: 'ok' });
    return value;
  } catch (error) {
    end({ result: 'error' });
    throw error;
  }
}
