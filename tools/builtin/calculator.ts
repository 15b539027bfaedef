// Exact arithmetic for the model, which is unreliable at it; evaluation is arithmetic.ts, never eval.
import { z } from 'zod';
import type { ToolDefinition } from '../types.js';
import { evaluateArithmetic } from './arithmetic.js';

const inputSchema = z.object({ expression: z.string().min(1).max(1_000) });

export const calculatorTool: ToolDefinition<z.infer<typeof inputSchema>> = {
  name: 'calculator',
  description:
    'Evaluates an arithmetic expression with + - * / % ^ (power), parentheses and decimals, e.g. "(1.5 + 2) * 3^2".',
  parameters: {
    type: 'object',
    properties: { expression: { type: 'string', description: 'The arithmetic expression to evaluate' } },
    required: ['expression'],
    additionalProperties: false,
  },
  inputSchema,
  sensitive: false,
  pure: true,
  timeoutMs: 1_000,
  run: async (input) => ({ expression: input.expression, result: evaluateArithmetic(input.expression) }),
};
