// Sender lists (CHANNEL_ALLOW_USERS, CHANNEL_DENY_USERS, CHAT_APPROVERS): who a list names, per channel or
// everywhere. Pure, so the verify step and the approval check read the lists the same way.

/** `feishu:ou_1` names one user on one channel; `*:ou_1` or a bare `ou_1` names that id on every channel. */
export function listMatches(entries: string[], channel: string, userId: string): boolean {
  return entries.some((entry) => {
    const at = entry.indexOf(':');
    if (at < 0) return entry === userId;
    const [entryChannel, entryUser] = [entry.slice(0, at), entry.slice(at + 1)];
    return (entryChannel === '*' || entryChannel === channel) && entryUser === userId;
  });
}
