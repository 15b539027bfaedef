// Fake model vendors for issue 14's case 4 on both topologies: OpenAI-compatible servers over real HTTP
// (test/fakes/openai-compatible.ts) that answer, fail with 503, hang, break an answer mid-body or throttle as the test
// switches them, and record every call with the mode it met and who made it (the caller's API key, so the production
// topology's two workers, each with its own breakers, are counted apart).
import type { WorkflowClient } from '@temporalio/client';
import { type FakeChatBody, type FakeLlm, type FakeLlmReply, startFakeLlm } from '../fakes/openai-compatible.js';
import type { CallbackReceiver, LoadOptions } from './fault-load.js';

export type VendorMode = 'up' | 'down' | 'hang' | 'break' | 'throttle';

export interface VendorCall {
  at: number;
  mode: VendorMode;
  /** The API key the call carried ('' without one). */
  caller: string;
}

export interface Vendor {
  name: string;
  fake: FakeLlm;
  mode: VendorMode;
  /** Every request, with the mode the vendor was in when it arrived. */
  calls: VendorCall[];
}

export interface VendorOptions {
  /** The Retry-After of a throttled answer. */
  retryAfterSeconds: number;
  /** While up, answers this call instead of the default answer when it returns one (a tool call, say). */
  answer?: (body: FakeChatBody) => FakeLlmReply | undefined;
}

const never = new Promise<never>(() => undefined);

export async function startVendor(name: string, options: VendorOptions): Promise<Vendor> {
  const vendor = { name, mode: 'up', calls: [] } as unknown as Vendor;
  vendor.fake = await startFakeLlm({
    record: false,
    respond: (body, headers) => {
      vendor.calls.push({
        at: Date.now(),
        mode: vendor.mode,
        caller: headers.authorization?.replace(/^Bearer /, '') ?? '',
      });
      return respond(vendor, body, options);
    },
  });
  return vendor;
}

function respond(vendor: Vendor, body: FakeChatBody, options: VendorOptions): FakeLlmReply {
  switch (vendor.mode) {
    case 'down':
      return { status: 503, error: { message: 'the vendor is down', type: 'server_error' } };
    case 'throttle':
      return {
        status: 429,
        error: { message: 'rate limited', type: 'rate_limit_error' },
        headers: { 'retry-after': String(options.retryAfterSeconds) },
      };
    case 'hang':
      return { until: never };
  }
  const reply: FakeLlmReply =
    options.answer?.(body) ??
    (body.response_format !== undefined
      ? { json: { intent: 'question', confidence: 0.9, reason: 'scripted' } }
      : { text: `${vendor.name} answers: ${lastUserText(body)}` });
  return vendor.mode === 'break' ? { ...reply, breakMidBody: 'chunked' } : reply;
}

/**
 * `vendor` down from `atMs` into a load for `forMs`, as runLoad's faults; `window` holds when it actually went down
 * and came back (Date.now()), read once the load is over.
 */
export function vendorOutage(vendor: Vendor, atMs: number, forMs: number) {
  const window = { start: 0, end: 0 };
  const faults: NonNullable<LoadOptions['faults']> = [
    {
      atMs,
      inject: () => {
        window.start = Date.now();
        vendor.mode = 'down';
      },
    },
    {
      atMs: atMs + forMs,
      inject: () => {
        window.end = Date.now();
        vendor.mode = 'up';
      },
    },
  ];
  return { window, faults };
}

export function lastUserText(body: FakeChatBody): string {
  const user = [...body.messages].reverse().find((message) => message.role === 'user');
  return typeof user?.content === 'string' ? user.content : '';
}

/** The text of each load message: the vendors answer `<name> answers: <text>`. */
export const loadText = (messageId: string) => `hello ${messageId}`;

/** Replies that are not the whole answer of one of the vendors to that very message. */
export function wrongReplies(receiver: CallbackReceiver, messageIds: string[], vendors: string[]): string[] {
  return messageIds.flatMap((id) =>
    (receiver.texts.get(id) ?? []).filter(
      (reply) => !vendors.some((name) => reply === `${name} answers: ${loadText(id)}`),
    ),
  );
}

/** The attempts the run's last try of each model step used, from its history. */
export async function modelAttempts(
  workflows: WorkflowClient,
  workflowId: string,
): Promise<{ classifyIntent: number; planNextStep: number; classifyAndPlan: number }> {
  const history = await workflows.getHandle(workflowId).fetchHistory();
  const types = new Map<string, string>();
  // classifyAndPlan: the intent with the first plan, one activity since the patch 'model-run-merged'.
  const attempts = { classifyIntent: 0, planNextStep: 0, classifyAndPlan: 0 };
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) types.set(String(event.eventId), scheduled.activityType?.name ?? '');
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const type = types.get(String(started.scheduledEventId));
      if (type === 'classifyIntent' || type === 'planNextStep' || type === 'classifyAndPlan') {
        attempts[type] += started.attempt ?? 1;
      }
    }
  }
  return attempts;
}
