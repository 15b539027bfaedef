// One durable run per inbound chat message: verify → parse → intent → plan → execute → reply. Every side
// effect is an activity (timeouts and retry policies in activity-options.ts); this file only decides. Approvals
// live in approval.ts, chat commands in commands.ts (parsing) and run-command.ts (running).

import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { log, patched, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { Admission } from '../activities/merged-steps.js';
import type { OutboundReply, SentMessageRef } from '../core/message.js';
import { appendAssistantTurn, appendToolResult, countToolSteps, nextLoopAction } from '../llm/tool-loop.js';
import type { ChatMessage, ToolCall } from '../llm/types.js';
import { type HandleMessageInput, type HandleMessageWorkflow, type RunStatus, statusQuery } from '../runs/contract.js';
import type { PlannedStep, ToolPolicy } from '../tools/plan-step.js';
import {
  delivery,
  local,
  localDelivery,
  localToolActivities,
  modelActivities,
  toolActivities,
} from './activity-options.js';
import { awaitApproval, listenForDecisions } from './approval.js';
import { answersInline, HELP_TEXT, parseCommand } from './commands.js';
import { errorMessage } from './failure-text.js';
import { runCommand } from './run-command.js';
import { runGeneration } from './run-generation.js';
import { createRunLabels, toolSummary } from './run-labels.js';

/** The admission's outcome, or the step that failed for good (record, verify, parse; `admit` in generation 3). */
type AdmissionOrFailure = Admission | { failed: string; error: unknown };

/** What the sender is told when a step failed for good: nothing of the cause, which may be personal or internal. */
const STEP_FAILED_TEXT =
  'Sorry, something went wrong on my side and I could not handle this message. Please try again later.';

/** Set by Temporal on runs a Schedule starts: such runs carry the message as it was when the schedule was made. */
const SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

export const handleMessage: HandleMessageWorkflow = async function handleMessage(
  input: HandleMessageInput,
): Promise<RunStatus> {
  const { workflowId, typedSearchAttributes, startTime } = workflowInfo();
  // A scheduled run is sent now, not when its schedule was created: otherwise the replay window refuses it.
  const scheduledAt = typedSearchAttributes.get(SCHEDULED_START_TIME);
  const message = scheduledAt ? { ...input.message, sentAt: scheduledAt.toISOString() } : input.message;
  const status: RunStatus = { step: 'verify', plan: [], toolCalls: [] };
  const signals = listenForDecisions(message.authenticated?.principal);
  // Read through a function: TypeScript would otherwise keep a narrowing across awaits that signals change.
  const cancelledBy = () => signals.cancelledBy;
  setHandler(statusQuery, () => status);
  // Asked first: a run of generation 2 or later asks none of the older patches below (each `||` stops at it).
  const generation = runGeneration(input.generation);
  const generation2 = generation >= 2;
  // Generation 3 (and 4, its path without a marker): record, verify and parse as one local activity, the final
  // reply and the outcome as another.
  const generation3 = generation >= 3;
  const labels = createRunLabels(status, generation2);
  // Runs started since this patch take the lean path: the final reply is a local activity, the progress timer
  // is started only before the first ordinary activity, and a step followed only by local activities sets no
  // search attribute of its own (the next upsert in the same workflow task carries it). A command answered in
  // the workflow is then one workflow task. Decided once, at the start: a run replays the path it was recorded on.
  const lean = generation2 || patched('lean-run');
  const publishLocal = lean ? labels.note : labels.publish;
  const channel = message.channel;
  // Known once the parse step has recorded the message: replies from then on go into the transcript.
  let conversationId: string | undefined;

  // Progress: if the answer is not ready after the configured delay, say that work is under way.
  let progress: SentMessageRef | undefined;
  let progressSending: Promise<void> | undefined;
  const reportProgress = (text: string) => {
    progressSending = (progressSending ?? Promise.resolve())
      .then(async () => {
        if (status.step === 'done' || status.step === 'reply') return;
        progress = await delivery.sendProgress.executeWithOptions({ summary: `progress notice to ${channel}` }, [
          { key: `${workflowId}:progress`, target: message.replyTarget, text, previous: progress },
        ]);
      })
      // Best effort: a notice the platform refuses must not fail the run (nor leave a rejection unhandled).
      .catch((error) => log.warn('progress notice not delivered', { error: errorMessage(error) }));
  };

  const reply = async (text: string, outcome: NonNullable<RunStatus['outcome']>) => {
    status.step = 'reply';
    status.reply = text;
    publishLocal();
    await progressSending;
    const outbound: OutboundReply = { text, format: 'markdown' };
    const send = {
      key: `${workflowId}:final`,
      workflowId,
      kind: 'final' as const,
      target: message.replyTarget,
      reply: outbound,
      conversationId,
    };
    // Generation 3 records the outcome in the reply's activity; finishRun below is then only its fallback.
    let outcomeRecorded = false;
    try {
      if (generation3) {
        ({ finished: outcomeRecorded } = await localDelivery.replyAndFinish.executeWithOptions(
          { summary: `reply to ${channel}, then record the outcome: ${outcome}` },
          [{ ...send, outcome, intent: status.intent }],
        ));
      } else {
        await (lean ? localDelivery : delivery).sendReply.executeWithOptions({ summary: `reply to ${channel}` }, [
          send,
        ]);
      }
      status.outcome = outcome;
    } catch (error) {
      // The platform refused the reply for good (or retries ran out): the run still ends, recorded as failed,
      // with the reason in its status rather than as a failed workflow with no record.
      log.warn('reply could not be delivered', { error: errorMessage(error) });
      status.outcome = 'failed';
      status.deliveryError = errorMessage(error);
    }
    status.step = 'done';
    labels.publish();
    if (outcomeRecorded) return status;
    try {
      await local.finishRun.executeWithOptions({ summary: `record the outcome: ${status.outcome}` }, [
        { workflowId, outcome: status.outcome, intent: status.intent },
      ]);
    } catch (error) {
      // The sender has their answer; a run row left unfinished is the lesser harm than a failed run.
      log.warn('run outcome not recorded', { error: errorMessage(error) });
    }
    return status;
  };

  // A step that fails for good (retries spent, or a permanent error) still ends with one message to the sender.
  const failedStep = (step: string, error: unknown) => {
    log.warn('step failed; answering with a failure notice', { step, error: errorMessage(error) });
    return reply(STEP_FAILED_TEXT, 'failed');
  };

  // The run's row exists from the first step on, so every outcome (a refusal too) only updates it.
  publishLocal();
  const admission = generation3 ? await admit() : await recordVerifyParse();
  if ('failed' in admission) return failedStep(admission.failed, admission.error);
  if (!admission.allowed) {
    log.info('sender refused', { reason: admission.reason });
    return reply(admission.reply, 'refused');
  }
  const { context } = admission;
  conversationId = context.conversationId;
  const progressDelay = context.settings.progressDelayMs;
  let progressTimerStarted = false;
  const startProgressTimer = () => {
    if (progressTimerStarted) return;
    progressTimerStarted = true;
    void sleep(progressDelay).then(() => reportProgress('Working on it…'));
  };
  // Lean runs start it where an ordinary activity follows: a run answered by local activities alone is over
  // before any timer could fire, and the timer would only add a command, an event and a timer task.
  if (!lean) startProgressTimer();

  // intent: the command fast path first, the model second
  status.step = 'intent';
  const command = parseCommand(context.text);
  if (command) {
    status.intent = { name: `command:${command.name}`, confidence: 1, source: 'command' };
    status.plan = [`run /${command.name === 'invalid' ? command.command : command.name}`];
    status.step = 'execute';
    if (lean && answersInline(command)) {
      labels.note();
    } else {
      if (lean) startProgressTimer();
      labels.publish();
    }
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
  const models = context.settings.models ?? {};
  if (lean) startProgressTimer();
  labels.publish();
  // Runs started since this patch ask for the intent together with the first plan (one activity) and run pure
  // tools as local activities. Decided here, once: a model run replays the path it was recorded on.
  const merged = generation2 || patched('model-run-merged');
  let firstPlan: PlannedStep | undefined;
  let answer: { text: string; outcome: NonNullable<RunStatus['outcome']> };
  try {
    if (merged) {
      status.step = 'plan';
      labels.setModel(models.plan);
      const first = await llm.classifyAndPlan.executeWithOptions(
        { summary: `intent (${models.intent ?? 'model'}) and plan (${models.plan ?? 'model'}), turn 1` },
        [{ workflowId, text: context.text, messages: initialMessages() }],
      );
      // Classification only labels the run: without it the run goes on as chat.
      status.intent = first.intent
        ? { ...first.intent, source: 'llm' }
        : { name: 'chat', confidence: 0, source: 'default' };
      firstPlan = first.planned;
    } else {
      try {
        status.intent = {
          ...(await llm.classifyIntent.executeWithOptions({ summary: `intent (${models.intent ?? 'model'})` }, [
            { text: context.text },
          ])),
          source: 'llm',
        };
      } catch (error) {
        // Classification only labels the run; planning can still answer without it.
        log.warn('intent classification failed', { error: errorMessage(error) });
        status.intent = { name: 'chat', confidence: 0, source: 'default' };
      }
    }
    answer = await planAndExecute();
  } catch (error) {
    status.intent ??= { name: 'chat', confidence: 0, source: 'default' };
    log.warn('planning failed', { error: errorMessage(error) });
    answer = {
      text: 'Sorry, I could not reach the language model to answer this. Please try again in a few minutes.',
      outcome: 'failed',
    };
  }
  const final = await reply(answer.text, answer.outcome);
  // Added after the first release: runs already in flight when it shipped replay without this step.
  if (context.needsCompaction && (generation2 || patched('history-compaction'))) {
    try {
      await llm.compactHistory.executeWithOptions({ summary: `compact the conversation (${models.plan ?? 'model'})` }, [
        { conversationId: context.conversationId },
      ]);
    } catch (error) {
      // The answer is already out; compaction is retried by the next run that finds the window full.
      log.warn('history compaction failed', { error: errorMessage(error) });
    }
  }
  return final;

  // plan and execute: a bounded tool-calling loop; every tool call is its own activity
  async function planAndExecute(): Promise<typeof answer> {
    status.step = 'plan';
    labels.setModel(models.plan);
    // With the first plan in hand no activity is awaited before the next upsert of this workflow task (before the
    // next model call or tool activity, or the final one in reply()), which carries these labels too.
    if (generation2 && firstPlan) labels.note();
    else labels.publish();
    let messages = initialMessages();
    for (;;) {
      const cancel = cancelledBy();
      if (cancel) return { text: `Cancelled by ${cancel.by}.`, outcome: 'cancelled' };
      const planned =
        firstPlan ??
        (await llm.planNextStep.executeWithOptions(
          { summary: `plan (${models.plan ?? 'model'}), turn ${countToolSteps(messages) + 1}` },
          [{ workflowId, messages }],
        ));
      firstPlan = undefined;
      messages = appendAssistantTurn(messages, planned.assistant);
      const action = nextLoopAction({ messages }, context.settings.maxToolSteps);
      if (action.kind === 'final')
        return { text: action.text || '(the model gave an empty answer)', outcome: 'replied' };
      if (action.kind === 'step_limit') return { text: action.text, outcome: 'replied' };

      status.step = 'execute';
      const step = countToolSteps(messages);
      status.plan.push(...action.calls.map((call) => `step ${step}: ${call.name}(${call.arguments})`));
      for (const call of action.calls) labels.addTool(call.name);
      // Tools that run inside this workflow task (local, no approval) leave the upsert to the next step's.
      const inTask = action.calls.every((call) => {
        const policy = planned.tools[call.name];
        return !policy || (merged && policy.local && !policy.sensitive);
      });
      if (generation2 && inTask) labels.note();
      else labels.publish();
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
      labels.publish();
    }
  }

  /** record → verify → parse in one local activity (generation 3). */
  async function admit(): Promise<AdmissionOrFailure> {
    try {
      return await local.admitRun.executeWithOptions(
        { summary: `record the run, verify the sender on ${channel}, parse the message` },
        [{ workflowId, message, runStartedAtMs: startTime.getTime() }],
      );
    } catch (error) {
      return { failed: 'admit', error };
    }
  }

  /** record, verify and parse as three local activities (runs recorded before generation 3). */
  async function recordVerifyParse(): Promise<AdmissionOrFailure> {
    try {
      await local.recordRun.executeWithOptions({ summary: 'record the run' }, [{ workflowId, message }]);
    } catch (error) {
      return { failed: 'record', error };
    }
    let verdict: Awaited<ReturnType<typeof local.verifySender>>;
    try {
      verdict = await local.verifySender.executeWithOptions({ summary: `verify the sender on ${channel}` }, [
        { message, runStartedAtMs: startTime.getTime() },
      ]);
    } catch (error) {
      return { failed: 'verify', error };
    }
    if (!verdict.allowed) return verdict;
    status.step = 'parse';
    publishLocal();
    try {
      const context = await local.recordInbound.executeWithOptions({ summary: 'parse and record the message' }, [
        { workflowId, message },
      ]);
      return { allowed: true, context };
    } catch (error) {
      return { failed: 'parse', error };
    }
  }

  function initialMessages(): ChatMessage[] {
    return [
      ...(context.summary
        ? [{ role: 'system' as const, content: `Summary of the earlier conversation: ${context.summary}` }]
        : []),
      ...context.history,
      { role: 'user', content: context.text },
    ];
  }

  async function executeToolCall(
    call: ToolCall,
    policy: ToolPolicy | undefined,
  ): Promise<{ ok: boolean; result: unknown }> {
    if (!policy) return { ok: false, result: { error: `unknown tool ${call.name}` } };
    if (policy.sensitive) {
      const outcome = await awaitApproval({
        workflowId,
        message,
        tool: call.name,
        args: call.arguments,
        timeoutMs: context.settings.approvalTimeoutMs,
        signals,
        status,
        onStep: labels.publish,
      });
      if (outcome !== 'approved') {
        const by = signals.decision?.by.by;
        return { ok: false, result: { error: by ? `rejected by ${by}` : 'not approved in time' } };
      }
    }
    try {
      return {
        ok: true,
        result: await (merged && policy.local ? localToolActivities : toolActivities)(
          policy,
        ).runTool.executeWithOptions({ summary: toolSummary(call) }, [
          { workflowId, callId: call.id, name: call.name, arguments: call.arguments },
        ]),
      };
    } catch (error) {
      // A failed tool is information for the model, not the end of the run.
      return { ok: false, result: { error: errorMessage(error) } };
    }
  }
};
