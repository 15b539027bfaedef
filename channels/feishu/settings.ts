// Feishu/Lark's settings: the app's credentials, the event subscription's token and encrypt key, the open
// platform's base URL, and the long connection (the official SDK's WebSocket, opened by the API process).
import { z } from 'zod';
import { booleanFlag, optionalString, optionalUrl } from '../../core/settings.js';

export const feishuVariables = z.object({
  FEISHU_APP_ID: optionalString,
  FEISHU_APP_SECRET: optionalString,
  FEISHU_ENCRYPT_KEY: optionalString,
  FEISHU_VERIFICATION_TOKEN: optionalString,
  FEISHU_BASE_URL: optionalUrl('an http(s):// URL').default('https://open.feishu.cn'),
  FEISHU_LONG_CONNECTION: booleanFlag(false),
});

export type FeishuVariables = z.output<typeof feishuVariables>;

/** The long connection connects with the app credentials, and the Feishu SDK only takes real app ids. */
export function checkFeishuVariables(values: FeishuVariables, ctx: z.RefinementCtx): void {
  for (const key of ['FEISHU_APP_ID', 'FEISHU_APP_SECRET'] as const) {
    if (values.FEISHU_LONG_CONNECTION && values[key] === undefined) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'required when FEISHU_LONG_CONNECTION is on' });
    }
  }
  if (values.FEISHU_LONG_CONNECTION && values.FEISHU_APP_ID && !/^cli_[0-9a-fA-F]{16}$/.test(values.FEISHU_APP_ID)) {
    ctx.addIssue({ code: 'custom', path: ['FEISHU_APP_ID'], message: 'expected an app id like cli_a1b2c3d4e5f6a7b8' });
  }
}
