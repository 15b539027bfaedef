// Every channel Conduit has, and the adapters of those whose settings are present. Adding a channel touches its
// own folder (settings.ts, adapter.ts, channel.ts: see docs/channels.md, "Adding a channel") and one entry here.
import type { ChannelAdapter, ChannelDeps } from './adapter.js';
import { bridgeChannel } from './bridge/channel.js';
import { customChannel } from './custom/channel.js';
import { dingtalkChannel } from './dingtalk/channel.js';
import { feishuChannel } from './feishu/channel.js';
import type { ChannelSettings } from './settings.js';

/** Every channel, in the order their settings are checked. */
export const CHANNELS = [customChannel, dingtalkChannel, feishuChannel, bridgeChannel] as const;

/** Adapters keyed by channel name (the `:channel` of `/webhooks/:channel` and ReplyTarget.channel). */
export function createChannelAdapters(settings: ChannelSettings, deps: ChannelDeps): Map<string, ChannelAdapter> {
  const adapters = new Map<string, ChannelAdapter>();
  for (const channel of CHANNELS) {
    const adapter = channel.create(settings, deps);
    if (adapter) adapters.set(adapter.name, adapter);
  }
  return adapters;
}
