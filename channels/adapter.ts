// The one interface every chat platform implements. Adapters know their platform's wire format and nothing
// of Temporal; the pipeline knows InboundMessage and nothing of any platform.
import type { z } from 'zod';
import type { InboundMessage, OutboundReply, ReplyTarget, SentMessageRef } from '../core/message.js';

/** A webhook delivery exactly as it arrived: header names lower-cased, the body as the raw bytes' UTF-8 text. */
export interface RawRequest {
  headers: Record<string, string | undefined>;
  body: string;
  receivedAt: Date;
}

export type IngressOutcome =
  /**
   * A chat message: the hub starts (or finds) its pipeline run. Platforms that dictate the answer (Feishu and
   * DingTalk redeliver unless they get HTTP 200 within seconds) set `ack`, which is sent at once; without it the
   * hub answers with the run's ids and may hold the request for the run's result (`?wait=`).
   */
  | { kind: 'message'; message: InboundMessage; ack?: { status: number; body: unknown } }
  /** A protocol exchange that is not a message (Feishu's url_verification challenge): answer with this. */
  | { kind: 'respond'; status: number; body: unknown }
  /**
   * A well-formed delivery Conduit does not act on (unknown event type, a bot's own message): 200, no run.
   * `reason` is a short snake_case code (a metrics label); `detail` says more in the log.
   */
  | { kind: 'ignore'; reason: string; detail?: string };

export interface ChannelAdapter {
  readonly name: string;
  /**
   * Verifies a webhook delivery (signature, token, clock window) and parses it.
   * Throws UnauthorizedError for a forged or stale signature and BadRequestError for a malformed body.
   */
  receive(request: RawRequest): Promise<IngressOutcome>;
  /** Sends the final answer. Throws UpstreamError (retryable or not) when the platform refuses. */
  send(target: ReplyTarget, reply: OutboundReply): Promise<SentMessageRef>;
  /** Sends a progress notice, or updates `previous` in place where the platform allows it. */
  sendProgress(target: ReplyTarget, text: string, previous?: SentMessageRef): Promise<SentMessageRef>;
}

/** What adapters get from the platform: an HTTP client (global fetch in production) and a clock. */
export interface ChannelDeps {
  fetch: typeof fetch;
  now: () => Date;
  /** Shared by every API replica (the database); each adapter keeps one in memory without it. */
  signatureClaims?: SignatureClaims;
}

/** One use of a webhook signature, for platforms whose signature does not cover the body (DingTalk). */
export interface SignatureClaim {
  channel: string;
  /** The signature (with what it signs, e.g. the timestamp) as received. */
  signature: string;
  messageId: string;
  /** When the signature can no longer pass the clock window, so the claim may be forgotten. */
  expiresAt: Date;
}

export interface SignatureClaims {
  /**
   * True when the signature is new, or was claimed before for the same message (a redelivery, which the run's
   * id keeps to one run); false when it already authenticated another message (a replay).
   */
  claim(claim: SignatureClaim): Promise<boolean>;
}

/**
 * What a channel's folder hands to registry.ts: the zod schema of the channel's own environment variables
 * (composed with every other channel's by settings.ts), the checks between them, and a builder that answers
 * undefined while the settings leave the channel off.
 */
export interface ChannelDefinition<Variables extends z.ZodObject = z.ZodObject> {
  readonly name: string;
  readonly variables: Variables;
  /** Checks that span several of this channel's variables (one needs another); add issues to `ctx`. */
  readonly check?: (settings: z.output<Variables>, ctx: z.RefinementCtx) => void;
  create(settings: z.output<Variables>, deps: ChannelDeps): ChannelAdapter | undefined;
}
