// What channels/registry.ts registers for the custom channel: on when CUSTOM_WEBHOOK_SECRET names a secret.
import type { ChannelDefinition } from '../adapter.js';
import { createCustomAdapter } from './adapter.js';
import { customVariables } from './settings.js';

export const customChannel: ChannelDefinition<typeof customVariables> = {
  name: 'custom',
  variables: customVariables,
  create: (settings, deps) =>
    settings.CUSTOM_WEBHOOK_SECRET.length > 0
      ? createCustomAdapter(
          { secrets: settings.CUSTOM_WEBHOOK_SECRET, callbackAllowedHosts: settings.CUSTOM_CALLBACK_ALLOWED_HOSTS },
          deps,
        )
      : undefined,
};
