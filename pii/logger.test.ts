import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, logger: createLogger('info', stream) };
}

describe('createLogger', () => {
  it('redacts secrets by key, however deep', () => {
    const { lines, logger } = capture();
    logger.info({ appSecret: 's3cr3t', nested: { token: 'tkn', inner: { apiKey: 'k' } } }, 'configured');
    const text = JSON.stringify(lines[0]);
    for (const secret of ['s3cr3t', 'tkn', '"k"']) expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
  });

  it('masks personal data in messages and string fields', () => {
    const { lines, logger } = capture();
    logger.info({ sender: 'ann@example.com' }, 'call 13812345678 back');
    expect(lines[0]).toMatchObject({ sender: '[EMAIL_1]', msg: 'call [PHONE_1] back' });
  });

  it('masks personal data that errors carry, in message, stack, cause and nested fields', () => {
    const { lines, logger } = capture();
    const quoted = 'my id 11010519491231002X and phone 13812345678';
    const error = new Error(`insert failed for "${quoted}"`, { cause: new Error(`row: ${quoted}`) });
    logger.warn({ err: error, step: 'record' }, 'pipeline step failed');
    logger.warn(error);
    logger.warn({ meta: { error, failure: { message: quoted } } }, 'sdk says');
    const text = JSON.stringify(lines);
    for (const value of ['11010519491231002X', '13812345678']) expect(text).not.toContain(value);
    expect(lines[0]).toMatchObject({ err: { type: 'Error', message: expect.stringContaining('[ID_CARD_1]') } });
    expect((lines[0]!.err as { stack: string }).stack).toContain('[PHONE_1]');
    expect(lines[1]).toMatchObject({ msg: expect.stringContaining('insert failed') });
  });
});
