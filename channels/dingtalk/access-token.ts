// Fetches the DingTalk OpenAPI access token ({appKey, appSecret} → {accessToken, expireIn}) behind the shared
// in-memory cache. Error messages carry DingTalk's code, never the app secret.
import { UpstreamError } from '../../core/errors.js';
import type { ChannelDeps } from '../adapter.js';
import { isRetryableStatus, requestJson } from '../http-json.js';
import { createTokenCache, type TokenCache } from '../token-cache.js';

export interface DingTalkCredentials {
  appKey: string;
  appSecret: string;
  apiBaseUrl: string;
}

export function createDingTalkTokenCache(credentials: DingTalkCredentials, deps: ChannelDeps): TokenCache {
  return createTokenCache(async () => {
    const response = await requestJson(deps.fetch, 'DingTalk', `${credentials.apiBaseUrl}/v1.0/oauth2/accessToken`, {
      method: 'POST',
      body: JSON.stringify({ appKey: credentials.appKey, appSecret: credentials.appSecret }),
    });
    const body = (response.body ?? {}) as { accessToken?: unknown; expireIn?: unknown; code?: unknown };
    if (response.status === 200 && typeof body.accessToken === 'string' && typeof body.expireIn === 'number') {
      return { value: body.accessToken, expiresInSeconds: body.expireIn };
    }
    throw new UpstreamError(
      `DingTalk access token request refused: HTTP ${response.status}${typeof body.code === 'string' ? ` ${body.code}` : ''}`,
      { retryable: isRetryableStatus(response.status) },
    );
  }, deps.now);
}
