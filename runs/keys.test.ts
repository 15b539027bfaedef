// Every key built from user-controlled ids is injective: two different inputs never give one key (the
// encoding itself is tested in core/key-encoding.test.ts; these prove each builder uses it soundly).
import { describe, expect, it } from 'vitest';
import type { InboundMessage } from '../core/message.js';
import { TRICKY_IDS } from '../test/support/tricky-ids.js';
import { messageWorkflowId, reminderWorkflowId, scheduledMessageId } from './contract.js';
import { offloadKey } from './offload-large-text.js';
import { type RunEventType, runEventDedupeKey } from './run-events.js';

const CHANNELS = ['api', 'custom', 'dingtalk', 'feishu', 'ws', 'grpc', 'api:x', 'api_3Ax'];
const TYPES: RunEventType[] = ['accepted', 'step', 'intent', 'tool', 'progress', 'reply', 'refused'];

/** Builds every input pair's key and fails on the first two different inputs that share one. */
function expectInjective<T>(inputs: T[], key: (input: T) => string): void {
  const seen = new Map<string, T>();
  for (const input of inputs) {
    const built = key(input);
    const earlier = seen.get(built);
    if (earlier !== undefined) expect(earlier, `collision on ${JSON.stringify(built)}`).toEqual(input);
    seen.set(built, input);
  }
}

const pairs = <A, B>(as: A[], bs: B[]) => as.flatMap((a) => bs.map((b) => [a, b] as const));

describe('key builders', () => {
  it('messageWorkflowId: no two (channel, message id) pairs share a workflow id; safe ids are unchanged', () => {
    expectInjective(pairs(CHANNELS, TRICKY_IDS), ([channel, id]) => messageWorkflowId(channel, id));
    expect(messageWorkflowId('feishu', 'om_5ce6d572455d361153b7cb51da133945')).toBe(
      'message:feishu:om_5ce6d572455d361153b7cb51da133945',
    );
    expect(messageWorkflowId('api', 'a:b')).toBe('message:api:a:b');
  });

  it('workflow ids of the different kinds never meet', () => {
    const ids = [
      ...pairs(CHANNELS, TRICKY_IDS).map(([channel, id]) => messageWorkflowId(channel, id)),
      ...TRICKY_IDS.map((id) => reminderWorkflowId(id)),
      ...TRICKY_IDS.map((id) => scheduledMessageId(id)),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('runEventDedupeKey: no two (workflow id, type, suffix) triples share a key', () => {
    const workflowIds = ['message:api:m', 'message:api:m:step', 'message:api:m:step:reply', ...TRICKY_IDS];
    const long = 'x'.repeat(300);
    const suffixes = ['', 'reply', 'reply:z', 'z', 'plan:3', 'step:x', long, `${long}:`, `${long}=3A`, ...TRICKY_IDS];
    const triples = workflowIds.flatMap((workflowId) =>
      TYPES.flatMap((type) => suffixes.map((suffix) => [workflowId, type, suffix] as const)),
    );
    expectInjective(triples, ([workflowId, type, suffix]) => runEventDedupeKey(workflowId, type, suffix));
    expect(runEventDedupeKey('message:api:m', 'step', 'recordInbound')).toBe('message:api:m:step:recordInbound');
    expect(runEventDedupeKey('message:api:m', 'progress', '进度'.repeat(100)).length).toBeLessThan(100);
  });

  it('offloadKey: no two (channel, message id) pairs share an object key', () => {
    expectInjective(pairs(CHANNELS, TRICKY_IDS), ([channel, messageId]) =>
      offloadKey({ channel, messageId } as InboundMessage),
    );
  });
});
