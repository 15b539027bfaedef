// The bridge channel's own settings: BRIDGE_TOKEN turns it on, BRIDGE_REPLY_URL says where replies go. They live
// here, beside the adapter, and channels/settings.ts composes them with every other channel's.
import { z } from 'zod';
import { optionalString, requireWhenSet } from '../../core/settings.js';

export const bridgeVariables = z.object({
  BRIDGE_TOKEN: optionalString.refine(
    (token) => token === undefined || token.length >= 16,
    'expected a token of at least 16 characters',
  ),
  BRIDGE_REPLY_URL: optionalString.refine(
    (url) => url === undefined || (URL.canParse(url) && /^https?:$/.test(new URL(url).protocol)),
    'expected an http(s):// URL',
  ),
});

export type BridgeVariables = z.output<typeof bridgeVariables>;

/** One without the other is a mistake worth stopping for: messages would come in and no reply would go out. */
export function checkBridgeVariables(values: BridgeVariables, ctx: z.RefinementCtx): void {
  requireWhenSet(
    values,
    [
      ['BRIDGE_TOKEN', 'BRIDGE_REPLY_URL'],
      ['BRIDGE_REPLY_URL', 'BRIDGE_TOKEN'],
    ],
    ctx,
  );
}
