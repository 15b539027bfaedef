// Calls to Feishu's message API with the tenant token: a rejected token (99991663/99991668) is refreshed and
// the call retried once; rate limits and server errors are retryable, any other code is permanent.
import { UpstreamError } from '../../core/errors.js';
import { type JsonResponse, requestJson } from '../http-json.js';
import type { TokenCache } from '../token-cache.js';

const INVALID_TOKEN_CODES = new Set([99991663, 99991668]);
const RATE_LIMITED_CODE = 99991400;

export interface FeishuApi {
  /** Answers the `data` of a `code: 0` reply; `operation` names the call in error messages. */
  call(method: 'POST' | 'PATCH', path: string, body: unknown, operation: string): Promise<Record<string, unknown>>;
}

export function isRetryableFeishuFailure(status: number, code: number | undefined): boolean {
  return status === 429 || status >= 500 || code === RATE_LIMITED_CODE;
}

export function createFeishuApi(fetchFn: typeof fetch, baseUrl: string, tokens: TokenCache): FeishuApi {
  const attempt = async (method: 'POST' | 'PATCH', path: string, body: string, token: string) =>
    requestJson(fetchFn, 'Feishu', `${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}` },
      body,
    });

  return {
    async call(method, path, payload, operation) {
      const body = JSON.stringify(payload);
      let token = await tokens.get();
      let response = await attempt(method, path, body, token);
      if (INVALID_TOKEN_CODES.has(codeOf(response) ?? 0)) {
        tokens.invalidate(token);
        token = await tokens.get();
        response = await attempt(method, path, body, token);
      }
      const code = codeOf(response);
      const answer = (response.body ?? {}) as { msg?: unknown; data?: unknown };
      if (response.status >= 200 && response.status < 300 && code === 0) {
        return typeof answer.data === 'object' && answer.data !== null ? (answer.data as Record<string, unknown>) : {};
      }
      const msg = typeof answer.msg === 'string' ? answer.msg : 'no msg';
      throw new UpstreamError(
        `Feishu ${operation} refused: HTTP ${response.status}, code ${code ?? 'missing'} (${msg})`,
        { retryable: isRetryableFeishuFailure(response.status, code) },
      );
    },
  };
}

function codeOf(response: JsonResponse): number | undefined {
  const code = (response.body as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}
