// Back-pressure for streaming connections (WebSocket, gRPC WatchRun): a client that reads slowly holds delivery
// back instead of growing the send buffer, and one that stops reading is cut off after a while so its connection
// and buffer are freed. Either way it resumes from the last event id it received; nothing is lost.

/** Bytes a connection may hold for its client before delivery waits for it to read. */
export const DEFAULT_SEND_BUFFER_BYTES = 1024 * 1024;
/** How long delivery may wait on a full send buffer before the client is taken to have stopped reading. */
export const DEFAULT_SEND_STALL_MS = 10_000;

export interface SendGateOptions {
  /** Bytes queued for the client now. */
  buffered(): number;
  /** Called once, when the buffer stayed full for `stallMs`: the connection should be closed. */
  onStall(): void;
  limitBytes?: number;
  stallMs?: number;
  now?: () => number;
}

/** `canDeliver` for a run-event follower: false while the buffer is over its bound. */
export function createSendGate(options: SendGateOptions): { canDeliver(): boolean } {
  const limitBytes = options.limitBytes ?? DEFAULT_SEND_BUFFER_BYTES;
  const stallMs = options.stallMs ?? DEFAULT_SEND_STALL_MS;
  const now = options.now ?? Date.now;
  let fullSince: number | undefined;
  let stalled = false;
  return {
    canDeliver() {
      if (stalled) return false;
      if (options.buffered() <= limitBytes) {
        fullSince = undefined;
        return true;
      }
      fullSince ??= now();
      if (now() - fullSince >= stallMs) {
        stalled = true;
        options.onStall();
      }
      return false;
    },
  };
}
