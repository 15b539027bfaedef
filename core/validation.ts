// The one formatter of zod failures: a refusal names the first bad field (`sender.id: Invalid string`), the same
// for the HTTP API, the streaming doors and the channel payload parsers.
import { BadRequestError } from './errors.js';

/** The part of a zod issue the message needs (zod's own issue type satisfies it). */
interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** `<path>: <message>` of the first issue; `whole` names the input when the issue is about all of it. */
export function describeIssue(error: { readonly issues: readonly Issue[] }, whole = 'body'): string {
  const issue = error.issues[0];
  return `${issue?.path.map(String).join('.') || whole}: ${issue?.message ?? 'invalid'}`;
}

/**
 * A hook for `zValidator` (and any safeParse result): a failure becomes a BadRequestError naming the first bad
 * field, which the API's error handler answers as 400.
 */
export function validationHookFor(whole: string) {
  return (result: { success: boolean; error?: { readonly issues: readonly Issue[] } }): void => {
    if (!result.success && result.error) throw new BadRequestError(describeIssue(result.error, whole));
  };
}

/** The hook for request bodies. */
export const validationHook = validationHookFor('body');
