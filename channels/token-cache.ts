// Caches a platform access token in memory and refreshes it ahead of expiry. Concurrent callers share one
// in-flight refresh, so a burst of replies costs a single token request.

export interface IssuedToken {
  value: string;
  expiresInSeconds: number;
}

export interface TokenCache {
  get(): Promise<string>;
  /** Drops `token` after the platform rejected it; a newer token fetched meanwhile is kept. */
  invalidate(token: string): void;
}

const REFRESH_AHEAD_MS = 5 * 60_000;

export function createTokenCache(issue: () => Promise<IssuedToken>, now: () => Date): TokenCache {
  let current: { value: string; refreshAt: number } | undefined;
  let inFlight: Promise<string> | undefined;

  const refresh = (): Promise<string> => {
    inFlight ??= issue()
      .then((token) => {
        const lifetimeMs = token.expiresInSeconds * 1000;
        // A token issued with little life left (Feishu hands back the old one near its end) is still used
        // for half of what remains instead of being refetched on every call.
        const refreshAt = now().getTime() + lifetimeMs - Math.min(REFRESH_AHEAD_MS, lifetimeMs / 2);
        current = { value: token.value, refreshAt };
        return token.value;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  return {
    async get() {
      if (current && now().getTime() < current.refreshAt) return current.value;
      return refresh();
    },
    invalidate(token) {
      if (current?.value === token) current = undefined;
    },
  };
}
