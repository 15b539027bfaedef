// What channels/registry.ts registers for Feishu/Lark: on with the app's credentials and a way for events to
// arrive (a verification token or an encrypt key for webhooks, or the long connection). With only the long
// connection on, the adapter sends replies and takes no webhooks.
import type { ChannelDefinition } from '../adapter.js';
import { createFeishuAdapter } from './adapter.js';
import { checkFeishuVariables, feishuVariables } from './settings.js';

export const feishuChannel: ChannelDefinition<typeof feishuVariables> = {
  name: 'feishu',
  variables: feishuVariables,
  check: checkFeishuVariables,
  create: (settings, deps) =>
    settings.FEISHU_APP_ID &&
    settings.FEISHU_APP_SECRET &&
    (settings.FEISHU_VERIFICATION_TOKEN || settings.FEISHU_ENCRYPT_KEY || settings.FEISHU_LONG_CONNECTION)
      ? createFeishuAdapter(
          {
            appId: settings.FEISHU_APP_ID,
            appSecret: settings.FEISHU_APP_SECRET,
            baseUrl: settings.FEISHU_BASE_URL,
            encryptKey: settings.FEISHU_ENCRYPT_KEY,
            verificationToken: settings.FEISHU_VERIFICATION_TOKEN,
          },
          deps,
        )
      : undefined,
};
