// How a message run behaves: its step and time budgets (PIPELINE_*, APPROVAL_TIMEOUT_MS, HISTORY_TOKEN_BUDGET),
// who may start one and how often (CHANNEL_ALLOW/DENY_USERS, RATE_LIMIT_PER_*), who may approve
// (CHAT_APPROVERS) and the time zone of chat schedules (SCHEDULE_TIMEZONE).
import { z } from 'zod';
import { csv, parseVariables, positiveInt, type Variables } from '../core/settings.js';

const pipelineVariables = z.object({
  PIPELINE_MAX_TOOL_STEPS: positiveInt(8, 'a positive whole number of steps'),
  PIPELINE_PROGRESS_DELAY_MS: positiveInt(5000, 'a delay in milliseconds'),
  APPROVAL_TIMEOUT_MS: positiveInt(24 * 3_600_000, 'a timeout in milliseconds'),
  HISTORY_TOKEN_BUDGET: positiveInt(2000, 'a positive number of tokens'),
  RATE_LIMIT_PER_USER_PER_MINUTE: positiveInt(30, 'a positive whole number of messages'),
  RATE_LIMIT_PER_CONVERSATION_PER_MINUTE: positiveInt(120, 'a positive whole number of messages'),
  CHANNEL_ALLOW_USERS: csv,
  CHANNEL_DENY_USERS: csv,
  CHAT_APPROVERS: csv,
  SCHEDULE_TIMEZONE: z
    .string()
    .refine((zone) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    }, 'expected an IANA time zone such as Asia/Shanghai')
    .default('Asia/Shanghai'),
});

export interface PipelineSettings {
  maxToolSteps: number;
  progressDelayMs: number;
  approvalTimeoutMs: number;
  historyTokenBudget: number;
  rateLimitPerUserPerMinute: number;
  rateLimitPerConversationPerMinute: number;
  allowUsers: string[];
  denyUsers: string[];
  /** Chat users (`channel:userId`, `*:userId`) who may approve sensitive requests; empty: anyone but the requester. */
  chatApprovers: string[];
  /** Time zone of cron schedules created from chat. */
  scheduleTimezone: string;
}

export function parsePipelineSettings(source: Variables): PipelineSettings {
  const env = parseVariables(pipelineVariables, source);
  return {
    maxToolSteps: env.PIPELINE_MAX_TOOL_STEPS,
    progressDelayMs: env.PIPELINE_PROGRESS_DELAY_MS,
    approvalTimeoutMs: env.APPROVAL_TIMEOUT_MS,
    historyTokenBudget: env.HISTORY_TOKEN_BUDGET,
    rateLimitPerUserPerMinute: env.RATE_LIMIT_PER_USER_PER_MINUTE,
    rateLimitPerConversationPerMinute: env.RATE_LIMIT_PER_CONVERSATION_PER_MINUTE,
    allowUsers: env.CHANNEL_ALLOW_USERS,
    denyUsers: env.CHANNEL_DENY_USERS,
    chatApprovers: env.CHAT_APPROVERS,
    scheduleTimezone: env.SCHEDULE_TIMEZONE,
  };
}
