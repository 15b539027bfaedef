import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../core/errors.js';
import { createToolRegistry } from '../registry.js';
import { evaluateArithmetic } from './arithmetic.js';
import { calculatorTool } from './calculator.js';

describe('evaluateArithmetic', () => {
  it.each([
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['10 / 4', 2.5],
    ['10 % 4', 2],
    ['2 ^ 10', 1024],
    ['2 ^ 3 ^ 2', 512],
    ['-2 ^ 2', -4],
    ['(-2) ^ 2', 4],
    ['2 ^ -1', 0.5],
    ['2 ** 3', 8],
    ['--3', 3],
    ['.5 + 1.', 1.5],
    ['0.1 + 0.2', 0.3],
    ['3 × 4 ÷ 2', 6],
    ['（1 + 1）* 2', 4],
    ['8 - 3 - 2', 3],
    ['  ((((7))))  ', 7],
  ])('%s = %s', (expression, expected) => {
    expect(evaluateArithmetic(expression)).toBe(expected);
  });

  it.each([
    ['1 / 0', 'division by zero'],
    ['5 % 0', 'division by zero'],
    ['1 +', 'ends too early'],
    ['(1 + 2', 'expected ")"'],
    ['1 2', 'unexpected "2" at position 2'],
    ['2 * x', 'unsupported character "x"'],
    ['process.exit()', 'unsupported character "p"'],
    ['', 'empty'],
    ['10 ^ 400', 'not a finite number'],
    [`${'('.repeat(200)}1${')'.repeat(200)}`, 'nested too deeply'],
  ])('rejects %s', (expression, reason) => {
    expect(() => evaluateArithmetic(expression)).toThrow(BadRequestError);
    expect(() => evaluateArithmetic(expression)).toThrow(reason);
  });
});

describe('calculator tool', () => {
  const registry = createToolRegistry([calculatorTool]);

  it('returns the expression and its result', async () => {
    expect(await registry.runTool('calculator', '{"expression":"(1.5 + 2) * 3^2"}')).toEqual({
      expression: '(1.5 + 2) * 3^2',
      result: 31.5,
    });
  });

  it('reports a bad expression as a bad request the model can read', async () => {
    await expect(registry.runTool('calculator', '{"expression":"2 +* 3"}')).rejects.toThrow(
      'invalid arithmetic expression: unexpected "*" at position 3',
    );
  });
});
