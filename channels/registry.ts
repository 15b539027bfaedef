// Every channel Conduit has. Adding a channel touches its
// own folder (settings.ts, adapter.ts, channel.ts: see docs/channels.md, "Adding a channel") and one entry here.
// settings.ts composes their variables; create-adapters.ts builds the adapters of those configured.
import { bridgeChannel } from './bridge/channel.js';
import { customChannel } from './custom/channel.js';
import { dingtalkChannel } from './dingtalk/channel.js';
import { feishuChannel } from './feishu/channel.js';

/** Every channel, in the order their settings are checked. */
export const CHANNELS = [customChannel, dingtalkChannel, feishuChannel, bridgeChannel] as const;
