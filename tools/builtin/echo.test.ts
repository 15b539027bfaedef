import { describe, expect, it } from 'vitest';
import { createToolRegistry } from '../registry.js';
import { echoTool } from './echo.js';

describe('echo', () => {
  const registry = createToolRegistry([echoTool]);

  it('returns its text', async () => {
    expect(await registry.runTool('echo', '{"text":"你好"}')).toEqual({ text: '你好' });
  });

  it('requires text', async () => {
    await expect(registry.runTool('echo', '{}')).rejects.toThrow(/text/);
  });
});
