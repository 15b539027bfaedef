// The chat platforms' credentials and switches: the custom webhook's secrets (CUSTOM_WEBHOOK_SECRET), DingTalk
// (DINGTALK_*) and Feishu (FEISHU_*). A channel is registered when its settings are complete (registry.ts);
// the stream modes open connections from the API process (api/channel-streams.ts).
import { z } from 'zod';
import {
  booleanFlag,
  csv,
  optionalString,
  optionalUrl,
  parseVariables,
  positiveInt,
  type Variables,
} from '../core/settings.js';

const channelVariables = z
  .object({
    CUSTOM_WEBHOOK_SECRET: csv,
    CUSTOM_CALLBACK_ALLOWED_HOSTS: csv,
    WEBHOOK_REFUSAL_LOG_PER_INTERVAL: positiveInt(10, 'a whole number of log lines'),
    WEBHOOK_REFUSAL_LOG_INTERVAL_SECONDS: positiveInt(60, 'a whole number of seconds'),
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
    FEISHU_APP_ID: optionalString,
    FEISHU_APP_SECRET: optionalString,
    FEISHU_ENCRYPT_KEY: optionalString,
    FEISHU_VERIFICATION_TOKEN: optionalString,
    FEISHU_BASE_URL: optionalUrl('an http(s):// URL').default('https://open.feishu.cn'),
    FEISHU_LONG_CONNECTION: booleanFlag(false),
  })
  .superRefine((env, ctx) => {
    // Stream ingress (docs/channels.md) connects with the app credentials; the Feishu SDK only takes real app ids.
    for (const [flag, needs] of [
      ['DINGTALK_STREAM', ['DINGTALK_APP_KEY', 'DINGTALK_APP_SECRET']],
      ['FEISHU_LONG_CONNECTION', ['FEISHU_APP_ID', 'FEISHU_APP_SECRET']],
    ] as const) {
      for (const key of needs.filter((k) => env[flag] && env[k] === undefined)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `required when ${flag} is on` });
      }
    }
    if (env.FEISHU_LONG_CONNECTION && env.FEISHU_APP_ID && !/^cli_[0-9a-fA-F]{16}$/.test(env.FEISHU_APP_ID)) {
      ctx.addIssue({
        code: 'custom',
        path: ['FEISHU_APP_ID'],
        message: 'expected an app id like cli_a1b2c3d4e5f6a7b8',
      });
    }
  });

/** The channel variables as parsed, under their own names (DINGTALK_STREAM: boolean, CUSTOM_WEBHOOK_SECRET: list). */
export type ChannelSettings = z.output<typeof channelVariables>;

export function parseChannelSettings(source: Variables): ChannelSettings {
  return parseVariables(channelVariables, source);
}
