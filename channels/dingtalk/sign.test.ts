import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '../../core/errors.js';
import { computeDingTalkSign, verifyDingTalkSign } from './sign.js';

// Test vector from /work/shared/PROTOCOLS.md.
const VECTOR_SIGN = 'aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g=';
const TS = '1700000000000';

describe('DingTalk callback sign', () => {
  it('computes the PROTOCOLS.md vector', () => {
    expect(computeDingTalkSign('SECtest', TS)).toBe(VECTOR_SIGN);
  });

  it('accepts the vector within one hour of the clock', () => {
    const headers = { timestamp: TS, sign: VECTOR_SIGN };
    expect(() => verifyDingTalkSign(headers, 'SECtest', new Date(1700000000000 + 3_600_000))).not.toThrow();
    expect(() => verifyDingTalkSign(headers, 'SECtest', new Date(1700000000000 - 3_600_000))).not.toThrow();
  });

  it('rejects a timestamp more than one hour away', () => {
    const headers = { timestamp: TS, sign: VECTOR_SIGN };
    expect(() => verifyDingTalkSign(headers, 'SECtest', new Date(1700000000000 + 3_600_001))).toThrow(/window/);
  });

  it('rejects a sign made with another secret or for another timestamp', () => {
    const now = new Date(1700000000000);
    expect(() => verifyDingTalkSign({ timestamp: TS, sign: computeDingTalkSign('other', TS) }, 'SECtest', now)).toThrow(
      /does not match/,
    );
    expect(() => verifyDingTalkSign({ timestamp: '1700000000001', sign: VECTOR_SIGN }, 'SECtest', now)).toThrow(
      UnauthorizedError,
    );
  });

  it('rejects missing or malformed headers', () => {
    const now = new Date(1700000000000);
    expect(() => verifyDingTalkSign({ sign: VECTOR_SIGN }, 'SECtest', now)).toThrow(UnauthorizedError);
    expect(() => verifyDingTalkSign({ timestamp: TS }, 'SECtest', now)).toThrow(UnauthorizedError);
    expect(() => verifyDingTalkSign({ timestamp: '17e11', sign: VECTOR_SIGN }, 'SECtest', now)).toThrow(
      UnauthorizedError,
    );
  });
});
