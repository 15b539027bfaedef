// Every timeout and retry policy of the message pipeline, in one place (the samples-typescript shape:
// proxyActivities with its options, declared once). Workflow code imports the proxies from here.
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ToolPolicy } from '../tools/plan-step.js';

/** Permanent failures: retrying cannot help, so the step fails at once and the run says so politely. */
export const NON_RETRYABLE = ['bad_request', 'unauthorized', 'forbidden', 'not_found', 'payload_too_large'];

// Short bookkeeping against our own database: local activities, so they cost no extra server round trip.
export const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: {
    initialInterval: '200ms',
    maximumInterval: '5s',
    maximumAttempts: 10,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

// Calls to a model: slow and failure-prone vendors. The budget of a step is time, not attempts: it keeps trying
// for MODEL_STEP_WINDOW. While every provider is held back by its circuit breaker (llm/breaker.ts) an attempt
// fails at once and asks to be retried when the cool-down ends (nextRetryDelay), so an outage of minutes costs
// a run a few cheap attempts and the run answers once a provider is back, instead of giving up after six. The
// timeout of one attempt follows the configured model timeout, so a worker that dies mid-call is noticed quickly.
export const MODEL_STEP_WINDOW = '15 minutes';
export const modelActivities = (llmTimeoutMs: number) =>
  proxyActivities<Activities>({
    startToCloseTimeout: llmTimeoutMs + 5_000,
    scheduleToCloseTimeout: MODEL_STEP_WINDOW,
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '30s',
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  });

// Tools: each with its own timeout from its definition, retried a little (a model can usually work around a
// failing tool faster than a long backoff).
export const toolActivities = (policy: ToolPolicy) =>
  proxyActivities<Activities>({
    startToCloseTimeout: policy.timeoutMs,
    retry: {
      initialInterval: '1s',
      maximumInterval: '10s',
      maximumAttempts: policy.maxAttempts,
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  });

// Pure tools (ToolDefinition.pure: echo, calculator, current_time) in runs with the 'model-run-merged' patch:
// local activities, so a tool call costs no activity dispatch and no workflow task of its own. Same attempts as
// above; the timeout has a margin over the tool's own, which the tool registry enforces itself, so a worker
// short of CPU does not time the call out before the tool could.
export const localToolActivities = (policy: ToolPolicy) =>
  proxyLocalActivities<Activities>({
    startToCloseTimeout: policy.timeoutMs + 5_000,
    retry: {
      initialInterval: '1s',
      maximumInterval: '10s',
      maximumAttempts: policy.maxAttempts,
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  });

// Sending to a chat platform: retried for up to about an hour, because a lost reply is worse than a late one.
const DELIVERY_OPTIONS = {
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '5m',
    maximumAttempts: 20,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
} as const;
export const delivery = proxyActivities<Activities>(DELIVERY_OPTIONS);

// The final reply as a local activity (runs with the 'lean-run' patch): record-then-send runs in the workflow
// task that decided it, so a command run is one workflow task. The same policy as `delivery` (a lost reply is
// worse than a late one): backoffs longer than the SDK's local retry threshold (1 minute) wait on a timer in
// the workflow, so the full hour of retries still holds. The outbox key keeps the send exactly-once when a
// worker dies mid-task and the next one re-runs the whole task's local activities.
export const localDelivery = proxyLocalActivities<Activities>(DELIVERY_OPTIONS);

// Signalling other runs and reading jobs: our own services, quick.
export const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '15s',
  retry: {
    initialInterval: '500ms',
    maximumInterval: '10s',
    maximumAttempts: 10,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});
