// One durable run per inbound chat message: verify → parse → intent → plan → execute → reply. Every side
// effect is an activity (timeouts and retry policies below, in one place); this file only decides.

import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import {
  ApplicationFailure,
  condition,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  startChild,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ToolPolicy } from '../activities/llm.js';
import type { InboundMessage, OutboundReply, SentMessageRef } from '../core/message.js';
import { appendAssistantTurn, appendToolResult, countToolSteps, nextLoopAction } from '../llm/tool-loop.js';
import type { ChatMessage, ToolCall } from '../llm/types.js';
import {
  approveSignal,
  cancelSignal,
  type Decision,
  type HandleMessageInput,
  type RunStatus,
  rejectSignal,
  reminderWorkflowId,
  statusQuery,
} from '../runs/contract.js';
import { type Command, formatDuration, HELP_TEXT, parseCommand } from './commands.js';
import { reminder } from './reminder.js';

/** Permanent failures: retrying cannot help, so the step fails at once and the run says so politely. */
export const NON_RETRYABLE = ['bad_request', 'unauthorized', 'forbidden', 'not_found', 'payload_too_large'];

// Short bookkeeping against our own database: local activities, so they cost no extra server round trip.
const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: {
    initialInterval: '200ms',
    maximumInterval: '5s',
    maximumAttempts: 10,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});
// Calls to a model: slow and failure-prone vendors, retried with backoff for a few minutes in all. The
// timeout follows the configured model timeout, so a worker that dies mid-call is noticed quickly.
const modelActivities = (llmTimeoutMs: number) =>
  proxyActivities<Activities>({
    startToCloseTimeout: llmTimeoutMs + 5_000,
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '30s',
      maximumAttempts: 6,
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  });
// Sending to a chat platform: retried for up to about an hour, because a lost reply is worse than a late one.
const delivery = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '5m',
    maximumAttempts: 20,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});
// Signalling other runs and reading jobs: our own services, quick.
const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '15s',
  retry: {
    initialInterval: '500ms',
    maximumInterval: '10s',
    maximumAttempts: 10,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

/** Set by Temporal on runs a Schedule starts: such runs carry the message as it was when the schedule was made. */
const SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

export async function handleMessage(input: HandleMessageInput): Promise<RunStatus> {
  const { workflowId, typedSearchAttributes } = workflowInfo();
  // A scheduled run is sent now, not when its schedule was created: otherwise the replay window refuses it.
  const scheduledAt = typedSearchAttributes.get(SCHEDULED_START_TIME);
  const message = scheduledAt ? { ...input.message, sentAt: scheduledAt.toISOString() } : input.message;
  const status: RunStatus = { step: 'verify', plan: [], toolCalls: [] };
  // Held in an object: signal handlers mutate it, and TypeScript must not narrow it between awaits.
  const signals: { cancelledBy?: Decision; decision?: { approved: boolean; by: Decision } } = {};
  // Read through a function: TypeScript would otherwise keep a narrowing across awaits that signals change.
  const currentDecision = () => signals.decision;
  const cancelledBy = () => signals.cancelledBy;
  setHandler(statusQuery, () => status);
  setHandler(cancelSignal, (by) => {
    signals.cancelledBy ??= by;
  });
  setHandler(approveSignal, (by) => {
    signals.decision ??= { approved: true, by };
  });
  setHandler(rejectSignal, (by) => {
    signals.decision ??= { approved: false, by };
  });

  // Progress: if the answer is not ready after the configured delay, say that work is under way.
  let progress: SentMessageRef | undefined;
  let progressSending: Promise<void> | undefined;
  const reportProgress = (text: string) => {
    progressSending = (progressSending ?? Promise.resolve())
      .then(async () => {
        if (status.step === 'done' || status.step === 'reply') return;
        progress = await delivery.sendProgress({
          key: `${workflowId}:progress`,
          target: message.replyTarget,
          text,
          previous: progress,
        });
      })
      // Best effort: a notice the platform refuses must not fail the run (nor leave a rejection unhandled).
      .catch((error) => log.warn('progress notice not delivered', { error: errorMessage(error) }));
  };

  const reply = async (text: string, outcome: NonNullable<RunStatus['outcome']>) => {
    status.step = 'reply';
    status.reply = text;
    await progressSending;
    const outbound: OutboundReply = { text, format: 'markdown' };
    try {
      await delivery.sendReply({
        key: `${workflowId}:final`,
        workflowId,
        kind: 'final',
        target: message.replyTarget,
        reply: outbound,
      });
      status.outcome = outcome;
    } catch (error) {
      // The platform refused the reply for good (or retries ran out): the run still ends, recorded as failed,
      // with the reason in its status rather than as a failed workflow with no record.
      log.warn('reply could not be delivered', { error: errorMessage(error) });
      status.outcome = 'failed';
      status.deliveryError = errorMessage(error);
    }
    status.step = 'done';
    await local.finishRun({ workflowId, message, outcome: status.outcome, intent: status.intent, replyText: text });
    return status;
  };

  // verify
  const verdict = await local.verifySender({ message, runStartedAtMs: workflowInfo().startTime.getTime() });
  if (!verdict.allowed) {
    log.info('sender refused', { reason: verdict.reason });
    return reply(verdict.reply, 'refused');
  }

  // parse
  status.step = 'parse';
  const context = await local.recordInbound({ workflowId, message });
  const progressDelay = context.settings.progressDelayMs;
  void sleep(progressDelay).then(() => reportProgress('Working on it…'));

  // intent: the command fast path first, the model second
  status.step = 'intent';
  const command = parseCommand(context.text);
  if (command) {
    status.intent = { name: `command:${command.name}`, confidence: 1, source: 'command' };
    status.plan = [`run /${command.name === 'invalid' ? command.command : command.name}`];
    status.step = 'execute';
    try {
      return reply(await runCommand(command, message, workflowId), 'replied');
    } catch (error) {
      log.warn('command failed', { command: command.name, error: errorMessage(error) });
      return reply(`Sorry, /${command.name} did not work this time: ${errorMessage(error)}`, 'failed');
    }
  }
  if (!context.settings.llmConfigured) {
    status.intent = { name: 'chat', confidence: 0, source: 'default' };
    return reply(
      `No language model is configured yet, so I can only run commands.\n${HELP_TEXT}\n\n(An administrator sets LLM_PROVIDER, LLM_BASE_URL or LLM_CONFIG_FILE to enable free-text answers.)`,
      'replied',
    );
  }
  const llm = modelActivities(context.settings.llmTimeoutMs);
  try {
    status.intent = { ...(await llm.classifyIntent({ text: context.text })), source: 'llm' };
  } catch (error) {
    // Classification only labels the run; planning can still answer without it.
    log.warn('intent classification failed', { error: errorMessage(error) });
    status.intent = { name: 'chat', confidence: 0, source: 'default' };
  }
  let answer: { text: string; outcome: NonNullable<RunStatus['outcome']> };
  try {
    answer = await planAndExecute();
  } catch (error) {
    log.warn('planning failed', { error: errorMessage(error) });
    answer = {
      text: 'Sorry, I could not reach the language model to answer this. Please try again in a few minutes.',
      outcome: 'failed',
    };
  }
  const final = await reply(answer.text, answer.outcome);
  // Added after the first release: runs already in flight when it shipped replay without this step.
  if (context.needsCompaction && patched('history-compaction')) {
    try {
      await llm.compactHistory({ conversationId: context.conversationId });
    } catch (error) {
      // The answer is already out; compaction is retried by the next run that finds the window full.
      log.warn('history compaction failed', { error: errorMessage(error) });
    }
  }
  return final;

  // plan and execute: a bounded tool-calling loop; every tool call is its own activity
  async function planAndExecute(): Promise<typeof answer> {
    status.step = 'plan';
    let messages: ChatMessage[] = [
      ...(context.summary
        ? [{ role: 'system' as const, content: `Summary of the earlier conversation: ${context.summary}` }]
        : []),
      ...context.history,
      { role: 'user', content: context.text },
    ];
    for (;;) {
      const cancel = cancelledBy();
      if (cancel) return { text: `Cancelled by ${cancel.by}.`, outcome: 'cancelled' };
      const planned = await llm.planNextStep({ workflowId, messages });
      messages = appendAssistantTurn(messages, planned.assistant);
      const action = nextLoopAction({ messages }, context.settings.maxToolSteps);
      if (action.kind === 'final')
        return { text: action.text || '(the model gave an empty answer)', outcome: 'replied' };
      if (action.kind === 'step_limit') return { text: action.text, outcome: 'replied' };

      status.step = 'execute';
      const step = countToolSteps(messages);
      status.plan.push(...action.calls.map((call) => `step ${step}: ${call.name}(${call.arguments})`));
      for (const call of action.calls) {
        const { ok, result } = await executeToolCall(call, planned.tools[call.name]);
        const afterCancel = cancelledBy();
        if (afterCancel) return { text: `Cancelled by ${afterCancel.by}.`, outcome: 'cancelled' };
        status.toolCalls.push({
          name: call.name,
          arguments: call.arguments,
          ok,
          result: JSON.stringify(result).slice(0, 500),
        });
        messages = appendToolResult(messages, call.id, call.name, result);
        if (progress)
          reportProgress(`Working on it… (${status.toolCalls.length} tool calls so far, last: ${call.name})`);
      }
      status.step = 'plan';
    }
  }

  async function executeToolCall(
    call: ToolCall,
    policy: ToolPolicy | undefined,
  ): Promise<{ ok: boolean; result: unknown }> {
    if (!policy) return { ok: false, result: { error: `unknown tool ${call.name}` } };
    if (policy.sensitive && !(await approved(call.name, call.arguments))) {
      const by = currentDecision()?.by.by;
      return { ok: false, result: { error: by ? `rejected by ${by}` : 'not approved in time' } };
    }
    const tools = proxyActivities<Activities>({
      startToCloseTimeout: policy.timeoutMs,
      retry: {
        initialInterval: '1s',
        maximumInterval: '10s',
        maximumAttempts: policy.maxAttempts,
        nonRetryableErrorTypes: NON_RETRYABLE,
      },
    });
    try {
      return {
        ok: true,
        result: await tools.runTool({ workflowId, callId: call.id, name: call.name, arguments: call.arguments }),
      };
    } catch (error) {
      // A failed tool is information for the model, not the end of the run.
      return { ok: false, result: { error: errorMessage(error) } };
    }
  }

  async function approved(tool: string, args: string): Promise<boolean> {
    const jobId = `a-${uuid4().slice(0, 8)}`;
    status.step = 'awaiting_approval';
    status.pendingApproval = { jobId, tool };
    signals.decision = undefined;
    await bookkeeping.createJob({
      id: jobId,
      kind: 'approval',
      workflowId,
      message,
      summary: `run ${tool}(${args.slice(0, 200)})`,
    });
    await delivery.sendReply({
      key: `${workflowId}:approval:${jobId}`,
      workflowId,
      kind: 'progress',
      target: message.replyTarget,
      reply: {
        text: `Running **${tool}** needs approval by a second person: /approve ${jobId} or /reject ${jobId}.`,
        format: 'markdown',
      },
    });
    const decided = await condition(
      () => currentDecision() !== undefined || cancelledBy() !== undefined,
      context.settings.approvalTimeoutMs,
    );
    const outcome = !decided
      ? 'expired'
      : cancelledBy()
        ? 'cancelled'
        : currentDecision()?.approved
          ? 'approved'
          : 'rejected';
    await bookkeeping.setJobStatus({ jobId, status: outcome });
    status.pendingApproval = undefined;
    status.step = 'execute';
    return outcome === 'approved';
  }
}

async function runCommand(command: Command, message: InboundMessage, workflowId: string): Promise<string> {
  switch (command.name) {
    case 'help':
      return HELP_TEXT;
    case 'echo':
      return command.text;
    case 'time':
      // Workflow time is the time this step was first decided: deterministic on replay.
      return `It is ${new Date().toISOString()} (UTC).`;
    case 'invalid':
      return command.problem;
    case 'jobs':
      return bookkeeping.describeJobs({ ownerId: message.sender.id, channel: message.channel });
    case 'schedule':
      return bookkeeping.createChatSchedule({
        // Derived from the run, so a retried activity finds the schedule it already made.
        scheduleId: `s-${uuid4().slice(0, 8)}`,
        message,
        text: command.text,
        everyMs: command.every,
        cron: command.cron,
      });
    case 'schedules':
      return bookkeeping.describeChatSchedules({ message });
    case 'unschedule':
      return bookkeeping.deleteChatSchedule({ scheduleId: command.scheduleId, message });
    case 'cancel':
    case 'approve':
    case 'reject':
      return bookkeeping.actOnJob({
        jobId: command.jobId,
        action: command.name,
        actor: { channel: message.channel, id: message.sender.id, name: message.sender.name },
        reason: command.name === 'reject' ? command.reason : undefined,
      });
    case 'remind': {
      const jobId = `r-${uuid4().slice(0, 8)}`;
      const dueAtMs = Date.now() + command.delayMs;
      await bookkeeping.createJob({
        id: jobId,
        kind: 'reminder',
        workflowId: reminderWorkflowId(jobId),
        message,
        summary: command.text,
        dueAtMs,
      });
      // The reminder outlives this run: abandoned, not cancelled, when this run completes.
      await startChild(reminder, {
        workflowId: reminderWorkflowId(jobId),
        args: [{ jobId, message, text: command.text, dueAtMs }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      log.info('reminder scheduled', { jobId, parent: workflowId });
      return `OK, I will remind you in ${formatDuration(command.delayMs)} (at ${new Date(dueAtMs).toISOString()}). Job id: ${jobId}; /cancel ${jobId} to cancel.`;
    }
  }
}

function errorMessage(error: unknown): string {
  if (error instanceof ApplicationFailure) return error.message;
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) return cause.message;
  return error instanceof Error ? error.message : String(error);
}
