// Observes every activity the worker runs, in one place instead of inside each activity: its duration into
// conduit_pipeline_step_duration_seconds (step = activity type, result = ok | error), and each failed attempt
// as a "pipeline step failed" log line with the run's ids (the Kibana search for failed runs keys on it).
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';

export function activityTelemetry({
  metrics,
  logger,
}: {
  metrics: Metrics;
  logger: Logger;
}): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const step = ctx.info.activityType;
        const end = metrics.stepDuration.startTimer({ step });
        try {
          const result = await next(input);
          end({ result: 'ok' });
          return result;
        } catch (error) {
          end({ result: 'error' });
          logger.warn(
            {
              err: error,
              step,
              attempt: ctx.info.attempt,
              workflowId: ctx.info.workflowExecution?.workflowId,
              runId: ctx.info.workflowExecution?.runId,
              workflowType: ctx.info.workflowType,
            },
            'pipeline step failed',
          );
          throw error;
        }
      },
    },
  });
}
