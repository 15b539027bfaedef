// What a tool is: a JSON schema the model reads, a zod schema its arguments must pass, and a run function.
// Tools run inside the runTool activity, so they may do I/O; they never see Temporal.
import type { z } from 'zod';
import type { ReplyTarget } from '../core/message.js';

export interface ToolContext {
  /** Aborts when the tool's timeout passes or the activity is cancelled; tools doing I/O should pass it on. */
  signal?: AbortSignal;
  /** The run's workflow id. */
  runId?: string;
  /** The model's id for this call: with runId, a stable key for tools that must act once per call. */
  callId?: string;
  /** The run's channel, conversation (the `channel:externalId` key of the conversations table) and sender. */
  channel?: string;
  conversationId?: string;
  userId?: string;
  /** Where the run's message came from, for tools that answer later (reminders). */
  replyTarget?: ReplyTarget;
}

export interface ToolDefinition<Input = unknown> {
  /** What the model calls it: letters, digits, `_` and `-` only (the function-calling rule). */
  name: string;
  description: string;
  /** JSON schema of the arguments object, sent to the model. */
  parameters: Record<string, unknown>;
  inputSchema: z.ZodType<Input>;
  /** Sensitive tools act on the world or read private data: the pipeline asks for approval before running them. */
  sensitive: boolean;
  timeoutMs: number;
  /**
   * A pure function of its arguments: no I/O, done in milliseconds. The pipeline runs it as a local activity,
   * inside the workflow task that asked for it, instead of dispatching an activity through Temporal.
   */
  pure?: boolean;
  // Method syntax on purpose: a ToolDefinition<{ text: string }> is then usable where ToolDefinition is expected.
  run(input: Input, ctx: ToolContext): Promise<unknown>;
}
