// Who sent a message on Conduit's own channels (POST /v1/messages, /v1/ws, gRPC, /v1/schedules): the caller the
// API authenticated, not whatever `sender.id` the body says. A trusted integration that relays its own users'
// messages holds `messages:act_for` and may name them; each such message is audit-logged with both identities.
// Everyone else may leave `sender` out (it becomes the principal) or name themselves; naming another is 403.
import { appendAudit } from '../audit/chain.js';
import { ForbiddenError } from '../core/errors.js';
import type { AuthenticatedSender, Person } from '../core/message.js';
import type { Database } from '../db/client.js';
import { can } from '../security/rbac.js';
import type { Principal } from './admin-keys.js';

export interface BoundSender {
  sender: Person;
  authenticated: AuthenticatedSender;
}

export async function bindSender(
  db: Database,
  principal: Principal,
  channel: string,
  named: Person | undefined,
): Promise<BoundSender> {
  const roles = principal.roles ?? [principal.role];
  const authenticated: AuthenticatedSender = {
    principal: principal.keyId,
    mayDecide: can(roles, 'runs:decide'),
  };
  if (named === undefined || named.id === principal.keyId) {
    return { sender: { id: principal.keyId, name: named?.name }, authenticated };
  }
  if (!can(roles, 'messages:act_for')) {
    throw new ForbiddenError(
      `sender.id must be your own principal (${principal.keyId}) or left out: naming another sender needs the messages:act_for permission`,
    );
  }
  await appendAudit(db, {
    actor: `api:${principal.keyId}`,
    action: 'message.act_for',
    target: `user:${channel}:${named.id}`,
    detail: { channel, principal: principal.keyId, sender: named.id },
  });
  return { sender: named, authenticated };
}
