import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { searchAttributeFlags } from '../runs/search-attributes.js';
import { createSearchAttributesCommand } from './search-attributes.js';

describe('registering the search attributes', () => {
  it('gives the dev server one Name=Type flag per attribute', () => {
    expect(searchAttributeFlags()).toEqual([
      'ConduitChannel=Keyword',
      'ConduitConversation=Keyword',
      'ConduitSender=Keyword',
      'ConduitIntent=Keyword',
      'ConduitStep=Keyword',
      'ConduitOutcome=Keyword',
      'ConduitModel=Keyword',
      'ConduitTools=KeywordList',
    ]);
  });

  it('documents in docs/deploy.md the same one-time command the start names when it cannot add them', async () => {
    const deploy = await readFile(new URL('../docs/deploy.md', import.meta.url), 'utf8');
    const documented = deploy.replace(/\s*\\\n\s*/g, ' ');
    expect(documented).toContain(createSearchAttributesCommand('default'));
  });
});
