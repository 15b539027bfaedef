// Builds the adapters for every channel whose settings are present. Adding a channel touches this file and the
// channel's own folder, nothing else.

import type { ChannelAdapter, ChannelDeps } from './adapter.js';
import { createCustomAdapter } from './custom/adapter.js';
import { createDingTalkAdapter } from './dingtalk/adapter.js';
import { createFeishuAdapter } from './feishu/adapter.js';
import type { ChannelSettings } from './settings.js';

/** Each entry builds its adapter, or answers undefined when the channel is not configured. */
const channels: Array<(env: ChannelSettings, deps: ChannelDeps) => ChannelAdapter | undefined> = [
  (env, deps) =>
    env.CUSTOM_WEBHOOK_SECRET.length > 0
      ? createCustomAdapter(
          { secrets: env.CUSTOM_WEBHOOK_SECRET, callbackAllowedHosts: env.CUSTOM_CALLBACK_ALLOWED_HOSTS },
          deps,
        )
      : undefined,
  (env, deps) =>
    env.DINGTALK_APP_KEY && env.DINGTALK_APP_SECRET
      ? createDingTalkAdapter(
          {
            appKey: env.DINGTALK_APP_KEY,
            appSecret: env.DINGTALK_APP_SECRET,
            apiBaseUrl: env.DINGTALK_API_BASE_URL,
            signatureMaxAgeMs: env.DINGTALK_SIGNATURE_MAX_AGE_SECONDS * 1000,
            corpId: env.DINGTALK_CORP_ID,
          },
          deps,
        )
      : undefined,
  (env, deps) =>
    // With only the long connection on, the adapter sends replies and takes no webhooks.
    env.FEISHU_APP_ID &&
    env.FEISHU_APP_SECRET &&
    (env.FEISHU_VERIFICATION_TOKEN || env.FEISHU_ENCRYPT_KEY || env.FEISHU_LONG_CONNECTION)
      ? createFeishuAdapter(
          {
            appId: env.FEISHU_APP_ID,
            appSecret: env.FEISHU_APP_SECRET,
            baseUrl: env.FEISHU_BASE_URL,
            encryptKey: env.FEISHU_ENCRYPT_KEY,
            verificationToken: env.FEISHU_VERIFICATION_TOKEN,
          },
          deps,
        )
      : undefined,
];

/** Adapters keyed by channel name (the `:channel` of `/webhooks/:channel` and ReplyTarget.channel). */
export function createChannelAdapters(env: ChannelSettings, deps: ChannelDeps): Map<string, ChannelAdapter> {
  const adapters = new Map<string, ChannelAdapter>();
  for (const build of channels) {
    const adapter = build(env, deps);
    if (adapter) adapters.set(adapter.name, adapter);
  }
  return adapters;
}
