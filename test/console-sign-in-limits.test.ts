// The console's sign-in form takes an API key, so it is a place to guess keys: it spends the same per-address
// budget as /v1, and guessing there ends in 429s with Retry-After.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

const BUDGET = 5;
let platform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform({ API_RATE_LIMIT_PER_IP_PER_MINUTE: String(BUDGET) }, { worker: false });
});
afterAll(async () => {
  await platform?.stop();
});

const signIn = (key: string) =>
  fetch(`${platform.apiUrl}/console/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ key }).toString(),
    redirect: 'manual',
  });

describe('console sign-in', () => {
  it('answers 429 with Retry-After once an address has spent its budget on wrong keys', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let attempt = 0; attempt < 12; attempt++) {
      const response = await signIn(`cdk_wrong_${attempt}`);
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get('retry-after');
      await response.body?.cancel();
    }
    expect(statuses.slice(0, BUDGET)).toEqual(Array(BUDGET).fill(401));
    expect(statuses.slice(BUDGET)).toEqual(Array(12 - BUDGET).fill(429));
    expect(Number(retryAfter)).toBeGreaterThan(0);
    // The right key is refused too while the address is over budget: the limit is on guessing, not on wrong keys.
    expect((await signIn(platform.adminKey)).status).toBe(429);
    // /v1 shares the budget: the same address is over it there too.
    const whoami = await fetch(`${platform.apiUrl}/v1/whoami`, {
      headers: { authorization: `Bearer ${platform.adminKey}` },
    });
    expect(whoami.status).toBe(429);
  });
});
