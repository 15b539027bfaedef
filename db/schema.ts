// Conduit's relational data: conversations and their messages, pipeline runs, the reply outbox that makes
// sending idempotent, conversation memory, pending jobs (reminders, approvals), rate-limit windows and audit.
// One schema serves PostgreSQL and the embedded PGlite store.

import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import type { OutboundReply, ReplyTarget } from '../core/message.js';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export const conversations = pgTable(
  'conversations',
  {
    id: text('id').primaryKey(),
    channel: text('channel').notNull(),
    externalId: text('external_id').notNull(),
    type: text('type').notNull(),
    createdAt: createdAt(),
    lastMessageAt: timestamp('last_message_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('conversations_channel_external').on(t.channel, t.externalId)],
);

export const messages = pgTable(
  'messages',
  {
    id: text('id').primaryKey(),
    conversationId: text('conversation_id')
      .notNull()
      .references(() => conversations.id),
    workflowId: text('workflow_id').notNull(),
    direction: text('direction', { enum: ['in', 'out'] }).notNull(),
    senderId: text('sender_id').notNull(),
    senderName: text('sender_name'),
    text: text('text').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('messages_conversation_time').on(t.conversationId, t.createdAt)],
);

export const runs = pgTable(
  'runs',
  {
    workflowId: text('workflow_id').primaryKey(),
    channel: text('channel').notNull(),
    messageId: text('message_id').notNull(),
    conversationId: text('conversation_id').notNull(),
    senderId: text('sender_id').notNull(),
    status: text('status', { enum: ['running', 'completed', 'refused', 'failed'] })
      .notNull()
      .default('running'),
    intent: text('intent'),
    intentConfidence: real('intent_confidence'),
    startedAt: createdAt(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
    /** Where the run's message came from, so work the run leaves behind (a reminder) can answer there. */
    replyTarget: jsonb('reply_target').$type<ReplyTarget>(),
  },
  (t) => [index('runs_started').on(t.startedAt)],
);

/** Record-then-send: a row is written before a reply leaves and marked sent after, keyed by a stable key. */
export const replyOutbox = pgTable(
  'reply_outbox',
  {
    key: text('key').primaryKey(),
    workflowId: text('workflow_id').notNull(),
    channel: text('channel').notNull(),
    kind: text('kind', { enum: ['final', 'progress', 'reminder'] }).notNull(),
    text: text('text').notNull(),
    /** failed: the platform refused it for good; it no longer holds back later replies of its conversation. */
    status: text('status', { enum: ['pending', 'sent', 'failed'] })
      .notNull()
      .default('pending'),
    platformMessageId: text('platform_message_id'),
    attempts: integer('attempts').notNull().default(0),
    createdAt: createdAt(),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    /** Replies with a conversation are sent in the order they were recorded (runs/reply-outbox.ts). */
    conversation: text('conversation'),
    /** What to send, so another reply of the conversation can send this one first; cleared once sent. */
    request: jsonb('request').$type<{ target: ReplyTarget; reply: OutboundReply }>(),
    /** Whoever sends the row holds it until then: one sender at a time, and a dead one's claim runs out. */
    claimedUntil: timestamp('claimed_until', { withTimezone: true }),
  },
  (table) => [
    index('reply_outbox_pending_by_conversation')
      .on(table.conversation, table.createdAt)
      .where(sql`${table.status} = 'pending'`),
  ],
);

export const memories = pgTable(
  'memories',
  {
    conversationId: text('conversation_id').notNull(),
    key: text('key').notNull(),
    value: jsonb('value').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.conversationId, t.key] })],
);

/** Waiting work a chat user can list and act on (/jobs, /cancel, /approve, /reject). */
export const jobs = pgTable(
  'jobs',
  {
    id: text('id').primaryKey(),
    kind: text('kind', { enum: ['reminder', 'approval'] }).notNull(),
    workflowId: text('workflow_id').notNull(),
    channel: text('channel').notNull(),
    conversationId: text('conversation_id').notNull(),
    ownerId: text('owner_id').notNull(),
    summary: text('summary').notNull(),
    dueAt: timestamp('due_at', { withTimezone: true }),
    status: text('status', { enum: ['pending', 'done', 'cancelled', 'approved', 'rejected', 'expired'] })
      .notNull()
      .default('pending'),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('jobs_owner_status').on(t.ownerId, t.status)],
);

/** Fixed-window counters shared by every worker, so rate limits hold across replicas. */
export const rateWindows = pgTable(
  'rate_windows',
  {
    key: text('key').notNull(),
    windowStart: timestamp('window_start', { withTimezone: true }).notNull(),
    count: integer('count').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.key, t.windowStart] })],
);

/**
 * Who did what, append-only and hash-chained (audit/chain.ts): each row's hash covers the previous row's hash
 * and its own fields, so an edited, removed or reordered row breaks the chain at that sequence.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    /** 1, 2, 3…, assigned under an advisory lock by appendAudit: no gaps, no forks. */
    sequence: bigint('sequence', { mode: 'number' }).primaryKey(),
    at: createdAt(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    target: text('target'),
    outcome: text('outcome', { enum: ['success', 'failure', 'denied'] })
      .notNull()
      .default('success'),
    detail: jsonb('detail'),
    prevHash: text('prev_hash'),
    /** Null only on rows written before the chain existed, until appendAudit seals them (once). */
    hash: text('hash'),
  },
  (t) => [index('audit_at').on(t.at), index('audit_action').on(t.action, t.sequence)],
);

/** Service-account API keys for the management API; only a SHA-256 hash is kept, the key is shown once. */
export const apiKeys = pgTable('api_keys', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  keyHash: text('key_hash').notNull().unique(),
  role: text('role', { enum: ['admin', 'operator', 'approver', 'integration', 'member', 'viewer'] }).notNull(),
  createdAt: createdAt(),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});

/**
 * What happened in each run, in order: accepted, step changes, progress, tool calls, reply. Streaming
 * clients (WebSocket, gRPC WatchRun) read it and resume after a dropped connection from the last id seen.
 */
export const runEvents = pgTable(
  'run_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    workflowId: text('workflow_id').notNull(),
    /** Stable per event, so a retried activity records its event once. */
    dedupeKey: text('dedupe_key').notNull().unique(),
    type: text('type').notNull(),
    data: jsonb('data').notNull().default({}),
    at: createdAt(),
  },
  (t) => [
    index('run_events_workflow').on(t.workflowId, t.id),
    // A resuming client's runs: the newest 'accepted' events of an API key on a channel (run-event-log.ts).
    index('run_events_accepted_owner')
      .on(sql`(${t.data}->>'owner')`, sql`(${t.data}->>'channel')`, t.id)
      .where(sql`${t.type} = 'accepted'`),
  ],
);

/**
 * Tokens per model call, per run: one row for every call an LLM activity made (a retried activity's calls
 * included, since each was billed) and for every answer served from the response cache (`cached`, with the
 * tokens the original call used, which were not billed again).
 */
export const llmUsage = pgTable(
  'llm_usage',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    workflowId: text('workflow_id').notNull(),
    /** The configured provider name (LLM_CONFIG_FILE key, or the preset's name). */
    provider: text('provider').notNull(),
    model: text('model').notNull(),
    promptTokens: integer('prompt_tokens').notNull(),
    completionTokens: integer('completion_tokens').notNull(),
    cached: boolean('cached').notNull().default(false),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('llm_usage_workflow').on(t.workflowId), index('llm_usage_at').on(t.at)],
);

/**
 * Webhook signatures already accepted, so a captured one cannot authenticate a second message (DingTalk's sign
 * covers only its timestamp, not the body). A row lives as long as its signature could still pass the clock
 * window; `message_id` lets the same message's redelivery with the same signature through.
 */
export const webhookSignatures = pgTable(
  'webhook_signatures',
  {
    channel: text('channel').notNull(),
    signature: text('signature').notNull(),
    messageId: text('message_id').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.channel, t.signature] }), index('webhook_signatures_expires').on(t.expiresAt)],
);

/**
 * Console sessions (api/console/sessions.ts), in the database so every API replica behind a load balancer knows
 * them and a restart signs nobody out. The row is keyed by a SHA-256 of the session id: someone who can read the
 * table cannot present it as a cookie.
 */
export const consoleSessions = pgTable(
  'console_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    /** The signed-in principal (api/admin-keys.ts `Principal`), as it was verified at sign-in. */
    principal: jsonb('principal').notNull(),
    csrf: text('csrf').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('console_sessions_expires').on(t.expiresAt)],
);

/**
 * Console sign-ins through the identity provider that went to the provider and have not come back yet
 * (api/console/oidc.ts). The provider may send the browser back to any replica; each state is taken once.
 */
export const consoleSignIns = pgTable(
  'console_sign_ins',
  {
    stateHash: text('state_hash').primaryKey(),
    verifier: text('verifier').notNull(),
    nonce: text('nonce').notNull(),
    redirectUri: text('redirect_uri').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('console_sign_ins_expires').on(t.expiresAt)],
);
