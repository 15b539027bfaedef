// Conduit's canonical message: what every channel parses into and what the pipeline works on. Plain data
// only (it travels through Temporal payloads), and nothing platform-specific outside `replyTarget.data`.

export type ConversationType = 'direct' | 'group';

export interface Person {
  id: string;
  name?: string;
}

/** A file or image carried by a message, stored in the object store and referenced by key. */
export interface AttachmentRef {
  kind: 'image' | 'file' | 'audio' | 'video';
  name?: string;
  contentType?: string;
  /** Object-store key, when the attachment has been fetched; the platform's own handle otherwise. */
  blobKey?: string;
  platformRef?: string;
}

/** Where and how to answer: the channel and whatever that channel needs to reply (opaque to the pipeline). */
export interface ReplyTarget {
  channel: string;
  data: Record<string, unknown>;
}

export interface InboundMessage {
  channel: string;
  /** The platform's own id for this message: with the channel, the de-duplication key of a run. */
  messageId: string;
  conversationId: string;
  conversationType: ConversationType;
  sender: Person;
  text: string;
  /**
   * Set when the text was too large to travel through workflow payloads: `text` then holds a preview and the
   * full text is in the object store under this key (see runs/offload-large-text.ts).
   */
  textRef?: string;
  mentions: Person[];
  attachments: AttachmentRef[];
  /** ISO-8601 time the platform says the message was sent (or received, when it says nothing). */
  sentAt: string;
  replyTarget: ReplyTarget;
  /**
   * On Conduit's own channels (api, ws, grpc), the credential that sent the message, as the API authenticated it:
   * the sender is this principal unless it may act for its users. Approvals compare principals, not sender ids.
   * Absent on the chat platforms, whose sender ids the platform's own signature vouches for.
   */
  authenticated?: AuthenticatedSender;
}

export interface AuthenticatedSender {
  /** The API key id, `env:CONDUIT_ADMIN_API_KEY` or `jwt:<subject>`. */
  principal: string;
  /** Whether the principal's roles grant `runs:decide`, so that it may approve or reject a waiting run. */
  mayDecide: boolean;
}

export type ReplyFormat = 'text' | 'markdown';

export interface OutboundReply {
  text: string;
  format: ReplyFormat;
  /** Users to mention in group chats, by platform user id. */
  mentionUserIds?: string[];
  /** Stable per reply: platforms that de-duplicate sends (Feishu's reply `uuid`) get it. */
  idempotencyKey?: string;
}

/** What a channel returns after sending, so a later progress update can edit the same message. */
export interface SentMessageRef {
  channel: string;
  platformMessageId?: string;
}
