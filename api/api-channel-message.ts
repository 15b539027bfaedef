// A message on the `api` channel from an authenticated principal: the sender bound to the credential
// (sender-identity.ts), the canonical message, and the one door (runs/accept-message.ts). POST /v1/messages and
// the console's chat playground both send through here, so a person in the console is bound exactly as their key
// is over /v1.
import { API_CHANNEL } from '../channels/api/adapter.js';
import { type MessageInput, toInboundMessage } from '../core/message-input.js';
import { type AcceptedMessage, type AcceptOptions, acceptMessage } from '../runs/accept-message.js';
import type { Principal } from './admin-keys.js';
import type { ApiDeps } from './deps.js';
import { bindSender } from './sender-identity.js';

export async function sendApiMessage(
  deps: Pick<ApiDeps, 'temporal' | 'config' | 'database' | 'blobs' | 'metrics' | 'logger' | 'capacity'>,
  principal: Principal,
  input: MessageInput,
  options: Omit<AcceptOptions, 'transport'> & { now: Date },
): Promise<AcceptedMessage> {
  const { temporal, config, database, blobs, metrics, logger, capacity } = deps;
  const bound = await bindSender(database.db, principal, API_CHANNEL, input.sender);
  const message = toInboundMessage(API_CHANNEL, input, options.now, bound);
  const door = { temporal, taskQueue: config.temporal.taskQueue, blobs, db: database.db, metrics, logger, capacity };
  const { now: _now, ...accept } = options;
  return acceptMessage(door, message, { ...accept, transport: 'api' });
}
