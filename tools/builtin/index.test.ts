import { describe, expect, it } from 'vitest';
import { createToolRegistry } from '../registry.js';
import { createBuiltinTools } from './index.js';

describe('createBuiltinTools', () => {
  it('leaves the HTTP tools out when no host is allowed', () => {
    expect(createBuiltinTools().map((tool) => tool.name)).toEqual(['current_time', 'calculator', 'echo']);
  });

  it('includes http_get and http_request when hosts are allowed, and every tool fits one registry', () => {
    const tools = createBuiltinTools({ httpAllowedHosts: ['api.example.com'] });
    expect(
      createToolRegistry(tools)
        .list()
        .map((spec) => spec.function.name),
    ).toEqual(['current_time', 'calculator', 'echo', 'http_get', 'http_request']);
    expect(tools.every((tool) => tool.parameters.type === 'object')).toBe(true);
  });
});
