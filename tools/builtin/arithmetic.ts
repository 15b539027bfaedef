// A small recursive-descent evaluator for arithmetic, so the calculator never hands model text to eval.
// Grammar: expr = term (+|- term)*; term = unary (*|/|% unary)*; unary = (+|-) unary | power;
// power = primary (^ unary)?  (right-associative, and -2^2 is -4 as in mathematics); primary = number | (expr).
import { BadRequestError } from '../../core/errors.js';

const MAX_LENGTH = 1_000;
const MAX_DEPTH = 100;

type Token = { kind: 'number'; value: number; at: number } | { kind: 'op'; value: string; at: number };

export function evaluateArithmetic(expression: string): number {
  if (expression.length > MAX_LENGTH) throw invalid(`expression is longer than ${MAX_LENGTH} characters`);
  const tokens = tokenize(expression);
  let position = 0;
  let depth = 0;

  const peek = () => tokens[position];
  const take = (op: string) => {
    const token = peek();
    if (token?.kind === 'op' && token.value === op) {
      position += 1;
      return true;
    }
    return false;
  };

  const parseExpression = (): number => {
    let value = parseTerm();
    for (;;) {
      if (take('+')) value += parseTerm();
      else if (take('-')) value -= parseTerm();
      else return value;
    }
  };
  const parseTerm = (): number => {
    let value = parseUnary();
    for (;;) {
      if (take('*')) value *= parseUnary();
      else if (take('/')) value = divide(value, parseUnary(), (a, b) => a / b);
      else if (take('%')) value = divide(value, parseUnary(), (a, b) => a % b);
      else return value;
    }
  };
  const parseUnary = (): number => {
    if (take('-')) return nested(() => -parseUnary());
    if (take('+')) return nested(() => parseUnary());
    return parsePower();
  };
  const parsePower = (): number => {
    const base = parsePrimary();
    return take('^') ? base ** nested(() => parseUnary()) : base;
  };
  const parsePrimary = (): number => {
    const token = peek();
    if (token?.kind === 'number') {
      position += 1;
      return token.value;
    }
    if (take('(')) {
      const value = nested(parseExpression);
      if (!take(')')) throw invalid(`expected ")" at position ${peek()?.at ?? expression.length}`);
      return value;
    }
    throw invalid(token ? `unexpected "${token.value}" at position ${token.at}` : 'expression ends too early');
  };
  const nested = (parse: () => number): number => {
    depth += 1;
    if (depth > MAX_DEPTH) throw invalid('expression is nested too deeply');
    try {
      return parse();
    } finally {
      depth -= 1;
    }
  };

  if (tokens.length === 0) throw invalid('expression is empty');
  const result = parseExpression();
  const rest = peek();
  if (rest) throw invalid(`unexpected "${rest.value}" at position ${rest.at}`);
  if (!Number.isFinite(result)) throw invalid('result is not a finite number');
  // 15 significant digits hide binary noise: 0.1 + 0.2 gives 0.3.
  return Number(result.toPrecision(15));
}

function divide(a: number, b: number, op: (a: number, b: number) => number): number {
  if (b === 0) throw invalid('division by zero');
  return op(a, b);
}

const ALIASES: Record<string, string> = { '×': '*', '÷': '/', '（': '(', '）': ')' };

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s+|(\d+(?:\.\d*)?|\.\d+)|(\*\*|[-+*/%^()×÷（）])|(.)/gsu;
  for (const match of expression.matchAll(pattern)) {
    const [, number, op, other] = match;
    if (number !== undefined) tokens.push({ kind: 'number', value: Number(number), at: match.index });
    else if (op !== undefined)
      tokens.push({ kind: 'op', value: op === '**' ? '^' : (ALIASES[op] ?? op), at: match.index });
    else if (other !== undefined) throw invalid(`unsupported character "${other}" at position ${match.index}`);
  }
  return tokens;
}

function invalid(reason: string): BadRequestError {
  return new BadRequestError(`invalid arithmetic expression: ${reason}`);
}
