// Returns its input: the smallest possible tool, for wiring checks and tests of the tool loop.
import { z } from 'zod';
import type { ToolDefinition } from '../types.js';

const inputSchema = z.object({ text: z.string().max(10_000) });

export const echoTool: ToolDefinition<z.infer<typeof inputSchema>> = {
  name: 'echo',
  description: 'Returns the given text unchanged.',
  parameters: {
    type: 'object',
    properties: { text: { type: 'string', description: 'The text to return' } },
    required: ['text'],
    additionalProperties: false,
  },
  inputSchema,
  sensitive: false,
  pure: true,
  timeoutMs: 1_000,
  run: async (input) => ({ text: input.text }),
};
