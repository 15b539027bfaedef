// What channels/registry.ts registers for the bridge: its settings, and its adapter once they are complete.
import type { ChannelDefinition } from '../adapter.js';
import { createBridgeAdapter } from './adapter.js';
import { bridgeVariables, checkBridgeVariables } from './settings.js';

export const bridgeChannel: ChannelDefinition<typeof bridgeVariables> = {
  name: 'bridge',
  variables: bridgeVariables,
  check: checkBridgeVariables,
  create: (settings, deps) =>
    settings.BRIDGE_TOKEN && settings.BRIDGE_REPLY_URL
      ? createBridgeAdapter({ token: settings.BRIDGE_TOKEN, replyUrl: settings.BRIDGE_REPLY_URL }, deps)
      : undefined,
};
