// memory_search: finds earlier messages of the current conversation by words, for questions like "what did I
// say about the budget last week?" (conversations/search.ts ranks them). A run only ever searches its own
// conversation.
import { z } from 'zod';
import { searchConversation } from '../../conversations/search.js';
import { BadRequestError } from '../../core/errors.js';
import type { Database } from '../../db/client.js';
import type { ToolDefinition } from '../types.js';

const MAX_TEXT = 500;

const inputSchema = z
  .object({
    query: z.string().trim().min(1).max(500),
    limit: z.number().int().min(1).max(20).default(5),
  })
  .strict();

export interface MemoryMatch {
  at: string;
  role: 'user' | 'assistant';
  sender: string;
  text: string;
}

export function createMemorySearchTool(db: Database): ToolDefinition<z.infer<typeof inputSchema>> {
  return {
    name: 'memory_search',
    description:
      'Searches earlier messages of this conversation (both sides) for the given words and returns the best matches, newest first among equals. Use it when the user refers to something said before that is not in the recent context.',
    parameters: {
      type: 'object',
      properties: {
        query: { type: 'string', description: 'Words to look for; messages containing more of them rank higher' },
        limit: { type: 'integer', minimum: 1, maximum: 20, description: 'How many matches to return (default 5)' },
      },
      required: ['query'],
      additionalProperties: false,
    },
    inputSchema,
    sensitive: false,
    timeoutMs: 5_000,
    async run(input, ctx): Promise<{ query: string; matches: MemoryMatch[] }> {
      if (!ctx.conversationId) throw new BadRequestError('memory_search works only inside a conversation');
      const rows = await searchConversation(db, {
        conversationId: ctx.conversationId,
        query: input.query,
        limit: input.limit,
        excludeWorkflowId: ctx.runId,
      });
      return {
        query: input.query,
        matches: rows.map((row) => ({
          at: row.at.toISOString(),
          role: row.direction === 'in' ? 'user' : 'assistant',
          sender: row.senderName ?? row.senderId,
          text: row.text.length > MAX_TEXT ? `${row.text.slice(0, MAX_TEXT)}…` : row.text,
        })),
      };
    },
  };
}
