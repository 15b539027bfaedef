// Logs refused webhook deliveries without letting a flood of them flood the log: per key (channel and reason)
// the first few in each interval are logged one by one, the rest are only counted, and one summary line per key
// says how many were left out. Metrics count every refusal; this only decides what reaches the log.
import type { Logger } from '../core/logger.js';

export interface RefusalLogOptions {
  /** Lines logged one by one per key and interval (10). */
  perInterval?: number;
  /** The interval, also the delay of the summary line (60 s). */
  intervalMs?: number;
}

export interface RefusalLog {
  /** Logs `fields` under `message` at warn level, unless this key already had its share in this interval. */
  warn(key: string, fields: Record<string, unknown>, message: string): void;
  /** Writes the pending summaries now and stops the timers (process shutdown). */
  flush(): void;
}

interface Window {
  logged: number;
  suppressed: number;
  fields: Record<string, unknown>;
  timer: NodeJS.Timeout;
}

export function createRefusalLog(logger: Logger, options: RefusalLogOptions = {}): RefusalLog {
  const perInterval = options.perInterval ?? 10;
  const intervalMs = options.intervalMs ?? 60_000;
  // Keys are channel × reason, both from bounded sets (unknown channels are one key), so this stays small.
  const windows = new Map<string, Window>();

  const close = (key: string) => {
    const window = windows.get(key);
    if (!window) return;
    clearTimeout(window.timer);
    windows.delete(key);
    if (window.suppressed > 0) {
      logger.warn(
        { ...window.fields, suppressed: window.suppressed, intervalSeconds: Math.round(intervalMs / 1000) },
        'delivery rejections not logged one by one',
      );
    }
  };

  return {
    warn(key, fields, message) {
      let window = windows.get(key);
      if (!window) {
        const timer = setTimeout(() => close(key), intervalMs);
        timer.unref();
        window = { logged: 0, suppressed: 0, fields: {}, timer };
        windows.set(key, window);
      }
      if (window.logged < perInterval) {
        window.logged += 1;
        logger.warn(fields, message);
        return;
      }
      window.suppressed += 1;
      // The summary names the key's channel and reason, never one request's details.
      window.fields = {
        transport: fields['transport'],
        channel: fields['channel'],
        code: fields['code'],
        refusal: fields['refusal'],
      };
    },
    flush() {
      for (const key of [...windows.keys()]) close(key);
    },
  };
}
