// The chat channels' settings. Each channel declares its own variables in its folder (`<channel>/settings.ts`,
// handed over by its `channel.ts`); this file composes those of every channel in registry.ts, plus the few that
// all webhooks share, into one schema, so loadConfig validates them with the rest and a bad value names its
// variable. The stream modes open connections from the API process (api/channel-streams.ts).
import { z } from 'zod';
import { parseVariables, positiveInt, type Variables } from '../core/settings.js';
import { CHANNELS } from './registry.js';

/** Shared by every channel's webhooks: how many refused deliveries are logged per interval (all are counted). */
const webhookVariables = z.object({
  WEBHOOK_REFUSAL_LOG_PER_INTERVAL: positiveInt(10, 'a whole number of log lines'),
  WEBHOOK_REFUSAL_LOG_INTERVAL_SECONDS: positiveInt(60, 'a whole number of seconds'),
});

type Channel = (typeof CHANNELS)[number];
type Intersection<U> = (U extends unknown ? (value: U) => void : never) extends (value: infer I) => void ? I : never;

/** Every channel's variables as parsed, under their own names (DINGTALK_STREAM: boolean, CUSTOM_WEBHOOK_SECRET: list). */
export type ChannelSettings = z.output<typeof webhookVariables> & Intersection<z.output<Channel['variables']>>;

const channelVariables = z
  .object(Object.assign({ ...webhookVariables.shape }, ...CHANNELS.map((channel) => channel.variables.shape)))
  .superRefine((values, ctx) => {
    for (const channel of CHANNELS) channel.check?.(values as never, ctx);
  });

export function parseChannelSettings(source: Variables): ChannelSettings {
  return parseVariables(channelVariables, source) as ChannelSettings;
}
