// One chat user's data, found by channel and user id: exported as JSON on request, or erased. Their data is the
// runs they started and everything keyed by those runs (messages both ways, reply outbox, run events, token
// usage, Temporal histories), their jobs and schedules, their offloaded message texts, and whole conversations
// in which nobody else spoke (summaries and transcript snapshots included). Conversations shared with others keep
// their summaries: a summary cannot be split by author (docs/security.md). Audit rows stay (legal record).
import type { Client } from '@temporalio/client';
import { and, eq, inArray, ne, or, type SQL, sql } from 'drizzle-orm';
import { appendAudit } from '../audit/chain.js';
import { legacyMemorySnapshotPrefix, memorySnapshotPrefix } from '../conversations/memory.js';
import type { InboundMessage } from '../core/message.js';
import type { Database } from '../db/client.js';
import {
  conversations,
  jobs,
  llmUsage,
  memories,
  messages,
  rateWindows,
  replyOutbox,
  runEvents,
  runs,
} from '../db/schema.js';
import { deleteMessageSchedule, listMessageSchedules, type MessageSchedule } from '../jobs/message-schedules.js';
import { offloadKey } from '../runs/offload-large-text.js';
import type { BlobStore } from '../storage/blob-store.js';

export interface UserRef {
  channel: string;
  userId: string;
}

export interface UserDataDeps {
  db: Database;
  blobs: BlobStore;
  temporal: Client;
  namespace: string;
  taskQueue: string;
}

/** Where a user's data is: the keys every later query and deletion starts from. */
interface Footprint {
  runIds: string[];
  /** Runs of theirs plus the reminder workflows their jobs started. */
  workflowIds: string[];
  /** Their message texts that ingress moved to the object store. */
  offloadKeys: string[];
  /** Conversations where nobody but this user (and the bot) wrote. */
  soleConversations: string[];
  sharedConversations: string[];
  /** Transcript snapshots of the sole conversations. */
  snapshotKeys: string[];
  /** Recurring messages they created in chat, or that post as them. */
  schedules: MessageSchedule[];
}

/** Keeps IN lists far below PostgreSQL's 65 535 bind parameters. */
const CHUNK = 5000;

export const userTarget = (user: UserRef) => `user:${user.channel}:${user.userId}`;

export async function exportUserData(deps: UserDataDeps, user: UserRef) {
  const { db } = deps;
  const footprint = await findFootprint(deps, user);
  return {
    user,
    exportedAt: new Date().toISOString(),
    runs: await inChunks(footprint.runIds, (ids) => db.select().from(runs).where(inArray(runs.workflowId, ids))),
    messages: await db.select().from(messages).where(messageCondition(user, footprint)).orderBy(messages.createdAt),
    jobs: await db
      .select()
      .from(jobs)
      .where(and(eq(jobs.channel, user.channel), eq(jobs.ownerId, user.userId))),
    schedules: footprint.schedules,
    conversations: {
      sole: footprint.soleConversations,
      shared: footprint.sharedConversations,
    },
    memories: await inChunks(footprint.soleConversations, (ids) =>
      db.select().from(memories).where(inArray(memories.conversationId, ids)),
    ),
    runEvents: await inChunks(footprint.workflowIds, (ids) =>
      db.select().from(runEvents).where(inArray(runEvents.workflowId, ids)),
    ),
    llmUsage: await inChunks(footprint.runIds, (ids) =>
      db.select().from(llmUsage).where(inArray(llmUsage.workflowId, ids)),
    ),
    objects: {
      offloadedTexts: footprint.offloadKeys,
      memorySnapshots: footprint.snapshotKeys,
    },
  };
}

export interface ErasureCounts {
  runs: number;
  messages: number;
  replyOutbox: number;
  runEvents: number;
  llmUsage: number;
  jobs: number;
  memories: number;
  conversations: number;
  objects: number;
  schedules: number;
  temporalRuns: number;
}

/**
 * Erases a user's data; the audit row (with `actor`) commits with the database deletions. Outside systems go
 * first (schedules, Temporal histories, objects): if anything fails, the rows that locate their data are still
 * there, and running the erasure again finishes the job.
 */
export async function eraseUserData(
  deps: UserDataDeps,
  user: UserRef,
  audit: { actor: string; detail?: Record<string, unknown> },
): Promise<ErasureCounts> {
  const { db, blobs } = deps;
  const footprint = await findFootprint(deps, user);

  for (const schedule of footprint.schedules) {
    await deleteMessageSchedule(deps.temporal, deps.taskQueue, schedule.id).catch(ignoreNotFound);
  }
  let temporalRuns = 0;
  await inParallel(footprint.workflowIds, 8, async (workflowId) => {
    if (await deleteWorkflowHistory(deps, workflowId)) temporalRuns += 1;
  });
  const objectKeys = [...footprint.offloadKeys, ...footprint.snapshotKeys];
  await inParallel(objectKeys, 16, (key) => blobs.delete(key));

  return db.transaction(async (tx) => {
    const t = tx as unknown as Database;
    const count = async (deleting: Promise<unknown[]>) => (await deleting).length;
    const byIds = (ids: string[], remove: (chunk: string[]) => Promise<unknown[]>) =>
      inChunks(ids, remove).then((rows) => rows.length);
    const counts: ErasureCounts = {
      messages: await count(t.delete(messages).where(messageCondition(user, footprint)).returning({ id: messages.id })),
      replyOutbox: await byIds(footprint.workflowIds, (ids) =>
        t.delete(replyOutbox).where(inArray(replyOutbox.workflowId, ids)).returning({ key: replyOutbox.key }),
      ),
      runEvents: await byIds(footprint.workflowIds, (ids) =>
        t.delete(runEvents).where(inArray(runEvents.workflowId, ids)).returning({ id: runEvents.id }),
      ),
      llmUsage: await byIds(footprint.runIds, (ids) =>
        t.delete(llmUsage).where(inArray(llmUsage.workflowId, ids)).returning({ id: llmUsage.id }),
      ),
      jobs: await count(
        t
          .delete(jobs)
          .where(and(eq(jobs.channel, user.channel), eq(jobs.ownerId, user.userId)))
          .returning({ id: jobs.id }),
      ),
      memories:
        (await byIds(footprint.soleConversations, (ids) =>
          t.delete(memories).where(inArray(memories.conversationId, ids)).returning({ key: memories.key }),
        )) +
        // A shared conversation's summary is the model's prose over everyone's lines, the user's included: it
        // cannot be redacted line by line, so it is dropped; the next compaction rewrites it from what remains.
        (await byIds(footprint.sharedConversations, (ids) =>
          t
            .delete(memories)
            .where(and(inArray(memories.conversationId, ids), eq(memories.key, SUMMARY_KEY)))
            .returning({ key: memories.key }),
        )),
      conversations: await byIds(footprint.soleConversations, (ids) =>
        t.delete(conversations).where(inArray(conversations.id, ids)).returning({ id: conversations.id }),
      ),
      runs: await count(
        t
          .delete(runs)
          .where(and(eq(runs.channel, user.channel), eq(runs.senderId, user.userId)))
          .returning({ id: runs.workflowId }),
      ),
      objects: objectKeys.length,
      schedules: footprint.schedules.length,
      temporalRuns,
    };
    await t.delete(rateWindows).where(eq(rateWindows.key, `user:${user.channel}:${user.userId}`));
    await appendAudit(t, {
      actor: audit.actor,
      action: 'privacy.erase',
      target: userTarget(user),
      detail: { ...audit.detail, deleted: counts },
    });
    return counts;
  });
}

async function findFootprint(deps: UserDataDeps, user: UserRef): Promise<Footprint> {
  const { db } = deps;
  const ownRuns = await db
    .select({ workflowId: runs.workflowId, messageId: runs.messageId, conversationId: runs.conversationId })
    .from(runs)
    .where(and(eq(runs.channel, user.channel), eq(runs.senderId, user.userId)));
  const ownJobs = await db
    .select({ kind: jobs.kind, workflowId: jobs.workflowId, conversationId: jobs.conversationId })
    .from(jobs)
    .where(and(eq(jobs.channel, user.channel), eq(jobs.ownerId, user.userId)));
  const spokenIn = await db
    .selectDistinct({ conversationId: messages.conversationId })
    .from(messages)
    .where(inboundFrom(user));
  const conversationIds = [...new Set([...ownRuns, ...ownJobs, ...spokenIn].map((row) => row.conversationId))];
  const shared = new Set<string>();
  await inChunks(conversationIds, async (ids) => {
    const others = [
      ...(await db
        .selectDistinct({ conversationId: runs.conversationId })
        .from(runs)
        .where(and(inArray(runs.conversationId, ids), ne(runs.senderId, user.userId)))),
      ...(await db
        .selectDistinct({ conversationId: messages.conversationId })
        .from(messages)
        .where(
          and(inArray(messages.conversationId, ids), eq(messages.direction, 'in'), ne(messages.senderId, user.userId)),
        )),
    ];
    for (const row of others) shared.add(row.conversationId);
    return [];
  });
  const runIds = ownRuns.map((run) => run.workflowId);
  // Only messages over 128 KB were offloaded: list the channel's offloaded texts and keep those of their runs.
  const stored = new Set(await deps.blobs.list(offloadKeyOf(user, '').replace(/[^/]*$/, '')));
  const owner = `chat:${user.channel}:${user.userId}`;
  const schedules = (await listMessageSchedules(deps.temporal, deps.taskQueue)).filter(
    (schedule) =>
      schedule.createdBy === owner || (schedule.channel === user.channel && schedule.senderId === user.userId),
  );
  const soleConversations = conversationIds.filter((id) => !shared.has(id));
  // Snapshots of shared conversations go too: they hold the user's lines, unattributed (docs/security.md).
  const snapshotKeys = (await Promise.all(conversationIds.map((id) => snapshotKeysOf(deps.blobs, id)))).flat();
  return {
    runIds,
    workflowIds: [
      ...new Set([...runIds, ...ownJobs.filter((job) => job.kind === 'reminder').map((job) => job.workflowId)]),
    ],
    offloadKeys: ownRuns.map((run) => offloadKeyOf(user, run.messageId)).filter((key) => stored.has(key)),
    soleConversations,
    sharedConversations: conversationIds.filter((id) => shared.has(id)),
    snapshotKeys,
    schedules,
  };
}

/** What they wrote on this channel (message rows carry the conversation, whose row carries the channel). */
const inboundFrom = (user: UserRef) =>
  and(
    eq(messages.senderId, user.userId),
    eq(messages.direction, 'in'),
    sql`${messages.conversationId} in (select ${conversations.id} from ${conversations} where ${conversations.channel} = ${user.channel})`,
  )!;

/** Their own messages, every message of their runs (the bot's replies), and all of their sole conversations. */
function messageCondition(user: UserRef, footprint: Footprint): SQL {
  const parts: SQL[] = [inboundFrom(user)];
  for (let start = 0; start < footprint.runIds.length; start += CHUNK) {
    parts.push(inArray(messages.workflowId, footprint.runIds.slice(start, start + CHUNK)));
  }
  for (let start = 0; start < footprint.soleConversations.length; start += CHUNK) {
    parts.push(inArray(messages.conversationId, footprint.soleConversations.slice(start, start + CHUNK)));
  }
  return or(...parts)!;
}

/** The memories row that holds a conversation's running summary (conversations/memory.ts). */
const SUMMARY_KEY = 'summary';

/**
 * A conversation's transcript snapshots: everything under its prefix, and, under the prefix older versions wrote
 * (which two conversation ids could share), only the snapshots that name this conversation inside.
 */
async function snapshotKeysOf(blobs: BlobStore, conversationId: string): Promise<string[]> {
  const keys = await blobs.list(memorySnapshotPrefix(conversationId));
  const legacy = legacyMemorySnapshotPrefix(conversationId);
  for (const key of legacy ? await blobs.list(legacy) : []) {
    if ((await storedConversationId(blobs, key)) === conversationId) keys.push(key);
  }
  return keys;
}

async function storedConversationId(blobs: BlobStore, key: string): Promise<unknown> {
  const stored = await blobs.get(key);
  try {
    return stored ? (JSON.parse(stored.toString('utf8')) as { conversationId?: unknown }).conversationId : undefined;
  } catch {
    return undefined; // not a snapshot this module wrote: never taken for one
  }
}

/** Where ingress put a run's message text when it was too large to travel inline. */
const offloadKeyOf = (user: UserRef, messageId: string) =>
  offloadKey({ channel: user.channel, messageId } as InboundMessage);

async function inChunks<T>(ids: string[], read: (chunk: string[]) => Promise<T[]>): Promise<T[]> {
  const rows: T[] = [];
  for (let start = 0; start < ids.length; start += CHUNK) rows.push(...(await read(ids.slice(start, start + CHUNK))));
  return rows;
}

async function inParallel<T>(items: T[], width: number, work: (item: T) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < items.length; start += width) {
    await Promise.all(items.slice(start, start + width).map(work));
  }
}

/** Deletes a workflow's history (terminating it if it still runs); false when Temporal has none. */
async function deleteWorkflowHistory(deps: UserDataDeps, workflowId: string): Promise<boolean> {
  try {
    await deps.temporal.workflowService.deleteWorkflowExecution({
      namespace: deps.namespace,
      workflowExecution: { workflowId },
    });
    return true;
  } catch (error) {
    ignoreNotFound(error);
    return false;
  }
}

/** gRPC NOT_FOUND (5), or Conduit's own not_found: already gone is what erasure wants. */
function ignoreNotFound(error: unknown): void {
  const code = (error as { code?: unknown }).code;
  if (code === 5 || code === 'not_found') return;
  throw error;
}
