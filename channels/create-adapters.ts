// The adapters of the channels whose settings are present, keyed by channel name.
import type { ChannelAdapter, ChannelDeps } from './adapter.js';
import { CHANNELS } from './registry.js';
import type { ChannelSettings } from './settings.js';

/** Adapters keyed by channel name (the `:channel` of `/webhooks/:channel` and ReplyTarget.channel). */
export function createChannelAdapters(settings: ChannelSettings, deps: ChannelDeps): Map<string, ChannelAdapter> {
  const adapters = new Map<string, ChannelAdapter>();
  for (const channel of CHANNELS) {
    const adapter = channel.create(settings, deps);
    if (adapter) adapters.set(adapter.name, adapter);
  }
  return adapters;
}
