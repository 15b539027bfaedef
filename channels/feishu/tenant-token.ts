// Fetches Feishu's tenant_access_token ({app_id, app_secret} → {code, tenant_access_token, expire}) behind the
// shared in-memory cache. Error messages carry Feishu's code and msg, never the app secret.
import { UpstreamError } from '../../core/errors.js';
import type { ChannelDeps } from '../adapter.js';
import { requestJson } from '../http-json.js';
import { createTokenCache, type TokenCache } from '../token-cache.js';
import { isRetryableFeishuFailure } from './open-api.js';

export interface FeishuCredentials {
  appId: string;
  appSecret: string;
  baseUrl: string;
}

export function createFeishuTokenCache(credentials: FeishuCredentials, deps: ChannelDeps): TokenCache {
  return createTokenCache(async () => {
    const url = `${credentials.baseUrl}/open-apis/auth/v3/tenant_access_token/internal`;
    const response = await requestJson(deps.fetch, 'Feishu', url, {
      method: 'POST',
      body: JSON.stringify({ app_id: credentials.appId, app_secret: credentials.appSecret }),
    });
    const body = (response.body ?? {}) as {
      code?: unknown;
      msg?: unknown;
      tenant_access_token?: unknown;
      expire?: unknown;
    };
    if (body.code === 0 && typeof body.tenant_access_token === 'string' && typeof body.expire === 'number') {
      return { value: body.tenant_access_token, expiresInSeconds: body.expire };
    }
    const code = typeof body.code === 'number' ? body.code : undefined;
    throw new UpstreamError(
      `Feishu tenant token request refused: HTTP ${response.status}, code ${code ?? 'missing'} (${typeof body.msg === 'string' ? body.msg : 'no msg'})`,
      { retryable: isRetryableFeishuFailure(response.status, code) },
    );
  }, deps.now);
}
