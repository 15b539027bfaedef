// The building blocks of every domain's settings (`<domain>/settings.ts`): zod primitives for environment
// variables and ConfigError, the one error a bad variable becomes. platform/config.ts composes the domains.
import { z } from 'zod';

/** A bad or missing setting; the message names the variable (`PORT: expected a TCP port number (1-65535)`). */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly expectation: string,
  ) {
    super(`${variable}: ${expectation}`);
    this.name = 'ConfigError';
  }
}

/** What a domain's parser reads: process.env at the entry point, a plain record in tests. */
export type Variables = Record<string, string | undefined>;

/** Parses `source` with a domain's schema; the first issue becomes a ConfigError naming its variable. */
export function parseVariables<Schema extends z.ZodType>(schema: Schema, source: Variables): z.output<Schema> {
  const parsed = schema.safeParse(source);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(String(issue?.path[0] ?? 'environment'), issue?.message ?? 'invalid value');
  }
  return parsed.data;
}

/** Trimmed; empty or blank counts as unset. */
export const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

export const port = (fallback: number) =>
  z.coerce
    .number({ error: 'expected a TCP port number (1-65535)' })
    .int('expected a TCP port number (1-65535)')
    .min(1, 'expected a TCP port number (1-65535)')
    .max(65535, 'expected a TCP port number (1-65535)')
    .default(fallback);

export const optionalPort = optionalString
  .refine(
    (value) => value === undefined || (/^\d{1,5}$/.test(value) && Number(value) >= 1 && Number(value) <= 65535),
    'expected a TCP port number (1-65535)',
  )
  .transform((value) => (value === undefined ? undefined : Number(value)));

export const positiveInt = (fallback: number, what: string) =>
  z.coerce
    .number({ error: `expected ${what}` })
    .int(`expected ${what}`)
    .positive(`expected ${what}`)
    .default(fallback);

export const nonNegativeInt = (fallback: number, what: string) =>
  z.coerce
    .number({ error: `expected ${what}` })
    .int(`expected ${what}`)
    .min(0, `expected ${what}`)
    .default(fallback);

export const optionalUrl = (what: string) =>
  optionalString.refine((value) => value === undefined || URL.canParse(value), `expected ${what}`);

/** Comma-separated, entries trimmed, empty entries dropped; unset is an empty list. */
export const csv = optionalString.transform((value) =>
  value === undefined
    ? []
    : value
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean),
);

export const booleanFlag = (fallback: boolean) =>
  optionalString
    .refine(
      (value) =>
        value === undefined || ['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'].includes(value.toLowerCase()),
      'expected true or false',
    )
    .transform((value) => (value === undefined ? fallback : ['1', 'true', 'yes', 'on'].includes(value.toLowerCase())));

/** Adds `required when X is set` for each [variable, needs] pair whose variable is set (non-empty) without `needs`. */
export function requireWhenSet(
  values: Record<string, unknown>,
  pairs: ReadonlyArray<readonly [variable: string, needs: string]>,
  ctx: z.RefinementCtx,
): void {
  const isSet = (value: unknown) => (Array.isArray(value) ? value.length > 0 : value !== undefined);
  for (const [variable, needs] of pairs) {
    if (isSet(values[variable]) && !isSet(values[needs])) {
      ctx.addIssue({ code: 'custom', path: [needs], message: `required when ${variable} is set` });
    }
  }
}
