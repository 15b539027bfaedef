import { describe, expect, it } from 'vitest';
import { embeddedUiOrigins } from './embedded-ui-trust.js';

describe('embeddedUiOrigins', () => {
  it('is the UI origin, and its localhost spelling for a UI bound to 127.0.0.1', () => {
    expect(embeddedUiOrigins('http://127.0.0.1:8233')).toEqual(['http://127.0.0.1:8233', 'http://localhost:8233']);
    expect(embeddedUiOrigins('http://[::1]:8233/')).toEqual(['http://[::1]:8233']);
  });
});
