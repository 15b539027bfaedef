import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { presentedKey } from './hub.js';

const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
const url = (query = '') => new URL(`http://localhost/v1/ws${query}`);

describe('presentedKey', () => {
  it('reads the Authorization header first', () => {
    expect(presentedKey(request({ authorization: 'Bearer k1' }), url('?token=k2'))).toBe('k1');
  });

  it('reads ?token= when there is no header', () => {
    expect(presentedKey(request({}), url('?token=k2'))).toBe('k2');
  });

  it('reads the subprotocol that follows "bearer"', () => {
    expect(presentedKey(request({ 'sec-websocket-protocol': 'bearer, cdt_abc' }), url())).toBe('cdt_abc');
    expect(presentedKey(request({ 'sec-websocket-protocol': 'bearer' }), url())).toBeUndefined();
    expect(presentedKey(request({ 'sec-websocket-protocol': 'chat, cdt_abc' }), url())).toBeUndefined();
  });

  it('finds nothing in a malformed header', () => {
    expect(presentedKey(request({ authorization: 'Basic abc' }), url())).toBeUndefined();
  });
});
