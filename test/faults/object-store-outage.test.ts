// Issue 14, case 3 on the npm start topology (startTestPlatform): the object store is stopped for 60 s under steady
// load where every other message carries a text over 128 KB, which the door offloads to the object store before the
// run starts (runs/offload-large-text.ts). The test runs its own MinIO and starts it again on the same port and data
// directory. Counted at a signed-callback receiver: every acknowledged message is answered once, and a message whose
// text cannot be stored is refused at the door with 503 and Retry-After (the sender sends it again), never
// acknowledged and lost, never answered 500.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../platform/free-port.js';
import { type RunningMinio, startMinio } from '../../platform/minio-server.js';
import { MAX_INLINE_TEXT_BYTES } from '../../runs/offload-large-text.js';
import { type CallbackReceiver, runLoad, startCallbackReceiver, summarise } from '../support/fault-load.js';
import { eventually, projectRoot, startTestPlatform, type TestPlatform } from '../support/platform.js';

const SECRET = `whsec_s3_${randomBytes(12).toString('hex')}`;
const RATE_PER_SECOND = 2;
const LOAD_MS = 72_000;
const STOP_AT_MS = 4_000;
const OUTAGE_MS = 60_000;
// The custom channel takes up to 100,000 characters: three-byte characters make a text over 128 KB in fewer.
const PADDING = '€'.repeat(Math.ceil((MAX_INLINE_TEXT_BYTES + 4096) / 3));

let scratch: string;
let ports: { port: number; consolePort: number };
let minio: RunningMinio | undefined;
let receiver: CallbackReceiver;
let platform: TestPlatform;

const start = async () => {
  minio = await startMinio(projectRoot, join(scratch, 'minio'), () => undefined, ports);
};

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'conduit-fault-s3-'));
  ports = { port: await freePort(), consolePort: await freePort() };
  await start();
  receiver = await startCallbackReceiver();
  platform = await startTestPlatform({
    S3_ENDPOINT: minio!.endpoint,
    S3_ACCESS_KEY: minio!.accessKey,
    S3_SECRET_KEY: minio!.secretKey,
    S3_BUCKET: 'conduit-fault',
    CUSTOM_WEBHOOK_SECRET: SECRET,
    CUSTOM_CALLBACK_ALLOWED_HOSTS: '127.0.0.1',
    PIPELINE_PROGRESS_DELAY_MS: '600000',
  });
}, 120_000);
afterAll(async () => {
  if (!minio && scratch) await start().catch(() => undefined);
  await platform?.stop();
  await receiver?.close();
  await minio?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
}, 120_000);

describe('the object store stopped for 60 s under load with large texts', () => {
  it('answers every acknowledged message once and refuses an unstorable large text with 503', async () => {
    const large = new Set<string>();
    let restartedAt = 0;
    const started = performance.now();
    const { deliveries, faultsAt } = await runLoad({
      baseUrl: platform.apiUrl,
      secret: SECRET,
      callbackUrl: receiver.url,
      ratePerSecond: RATE_PER_SECOND,
      durationMs: LOAD_MS,
      text: (messageId, index) => {
        if (index % 2 === 1) return `/echo ${messageId}`;
        large.add(messageId);
        return `/echo ${messageId} ${PADDING}`;
      },
      faults: [
        {
          atMs: STOP_AT_MS,
          inject: async () => {
            const stopping = minio!;
            minio = undefined;
            await stopping.stop();
          },
        },
        {
          atMs: STOP_AT_MS + OUTAGE_MS,
          inject: async () => {
            await start();
            restartedAt = performance.now() - started;
          },
        },
      ],
    });
    await eventually(
      async () => (deliveries.every((delivery) => receiver.replies.has(delivery.messageId)) ? true : undefined),
      30_000,
      'a reply to every message',
    ).catch(() => undefined);
    const lastReplyAt = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const outcome = summarise(deliveries, receiver.replies);
    const largeRefused = deliveries.filter(
      (delivery) => large.has(delivery.messageId) && delivery.statuses.includes(503),
    ).length;
    const smallRefused = deliveries.filter(
      (delivery) => !large.has(delivery.messageId) && delivery.statuses.includes(503),
    ).length;
    console.error(
      `object store stopped at ${Math.round(faultsAt[0]!)} ms for ${OUTAGE_MS} ms (back at ${Math.round(restartedAt)} ms) ` +
        `under ${RATE_PER_SECOND} msg/s, ${large.size} large texts: ${JSON.stringify(outcome)}, ` +
        `large texts refused at least once ${largeRefused}, small ones ${smallRefused}, ` +
        `every reply in by ${Math.round(lastReplyAt)} ms (${Math.round(lastReplyAt - restartedAt)} ms after the restart)`,
    );

    expect(outcome.unexpectedStatuses).toEqual([]);
    expect(outcome.acknowledged).toBe(outcome.messages);
    expect(outcome.missing).toBe(0);
    expect(outcome.duplicated).toBe(0);
    expect(largeRefused).toBeGreaterThan(0);
    expect(outcome.slowestRefusalMs).toBeLessThan(10_000);
  }, 150_000);
});
