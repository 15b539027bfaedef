// What channels/registry.ts registers for DingTalk: on when the robot app's key and secret are set.
import type { ChannelDefinition } from '../adapter.js';
import { createDingTalkAdapter } from './adapter.js';
import { checkDingTalkVariables, dingtalkVariables } from './settings.js';

export const dingtalkChannel: ChannelDefinition<typeof dingtalkVariables> = {
  name: 'dingtalk',
  variables: dingtalkVariables,
  check: checkDingTalkVariables,
  create: (settings, deps) =>
    settings.DINGTALK_APP_KEY && settings.DINGTALK_APP_SECRET
      ? createDingTalkAdapter(
          {
            appKey: settings.DINGTALK_APP_KEY,
            appSecret: settings.DINGTALK_APP_SECRET,
            apiBaseUrl: settings.DINGTALK_API_BASE_URL,
            signatureMaxAgeMs: settings.DINGTALK_SIGNATURE_MAX_AGE_SECONDS * 1000,
            corpId: settings.DINGTALK_CORP_ID,
          },
          deps,
        )
      : undefined,
};
