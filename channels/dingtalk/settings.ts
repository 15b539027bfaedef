// DingTalk's settings: the robot app's credentials, the open API base, and Stream mode (an outbound WebSocket
// the API process opens, api/channel-streams.ts) with its gateway.
import { z } from 'zod';
import { booleanFlag, optionalString, optionalUrl, positiveInt } from '../../core/settings.js';

export const dingtalkVariables = z.object({
  DINGTALK_APP_KEY: optionalString,
  DINGTALK_APP_SECRET: optionalString,
  DINGTALK_CORP_ID: optionalString,
  // DingTalk allows an hour; a captured sign is good for as long as this window (see docs/security.md).
  DINGTALK_SIGNATURE_MAX_AGE_SECONDS: positiveInt(300, 'a whole number of seconds').refine(
    (seconds) => seconds <= 3600,
    'expected at most 3600 seconds (DingTalk refuses older timestamps itself)',
  ),
  DINGTALK_API_BASE_URL: optionalUrl('an http(s):// URL').default('https://api.dingtalk.com'),
  DINGTALK_STREAM: booleanFlag(false),
  DINGTALK_STREAM_GATEWAY_URL: optionalUrl('an http(s):// URL of the connections/open endpoint'),
});

export type DingTalkVariables = z.output<typeof dingtalkVariables>;

/** Stream mode connects with the app credentials. */
export function checkDingTalkVariables(values: DingTalkVariables, ctx: z.RefinementCtx): void {
  for (const key of ['DINGTALK_APP_KEY', 'DINGTALK_APP_SECRET'] as const) {
    if (values.DINGTALK_STREAM && values[key] === undefined) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'required when DINGTALK_STREAM is on' });
    }
  }
}
