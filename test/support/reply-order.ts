// How the replies of a chat-send outage arrived: which messages were answered more than once, and in which chats
// the answers came out of the order the messages were sent in (the outbox promises one reply each, in order).

/**
 * `replies`: the message each reply answered, in arrival order. `sent`: each message's chat and its position
 * among that chat's messages.
 */
export function replyOrder(replies: string[], sent: Map<string, [chat: string, position: number]>, chats: string[]) {
  const perMessage = new Map<string, number>();
  for (const parent of replies) perMessage.set(parent, (perMessage.get(parent) ?? 0) + 1);
  const duplicated = [...perMessage.values()].filter((count) => count > 1).length;
  const outOfOrder: string[] = [];
  for (const chat of chats) {
    const positions = replies.filter((parent) => sent.get(parent)?.[0] === chat).map((parent) => sent.get(parent)![1]);
    if (positions.some((position, index) => index > 0 && position < positions[index - 1]!))
      outOfOrder.push(`${chat}: ${positions.join(',')}`);
  }
  return { duplicated, outOfOrder };
}
