import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BadRequestError } from './errors.js';
import { describeIssue, validationHook, validationHookFor } from './validation.js';

const schema = z.object({ sender: z.object({ id: z.string().min(1) }), tags: z.array(z.string()) });

describe('describeIssue', () => {
  it('names the first bad field by its path, array indexes included', () => {
    const parsed = schema.safeParse({ sender: { id: '' }, tags: ['a', 3] });
    expect(parsed.success).toBe(false);
    expect(describeIssue(parsed.error!)).toMatch(/^sender\.id: /);
    const second = schema.safeParse({ sender: { id: 'x' }, tags: ['a', 3] });
    expect(describeIssue(second.error!)).toMatch(/^tags\.1: /);
  });

  it('names the whole input when the issue is about all of it', () => {
    const parsed = schema.safeParse('not an object');
    expect(describeIssue(parsed.error!, 'frame')).toMatch(/^frame: /);
    expect(describeIssue(parsed.error!)).toMatch(/^body: /);
  });
});

describe('validationHook', () => {
  it('turns a failed parse into a BadRequestError naming the field, and lets a success pass', () => {
    expect(() => validationHook(schema.safeParse({ sender: {}, tags: [] }))).toThrow(BadRequestError);
    expect(() => validationHook(schema.safeParse({ sender: {}, tags: [] }))).toThrow(/^sender\.id: /);
    expect(() => validationHookFor('query')(schema.safeParse(1))).toThrow(/^query: /);
    expect(validationHook(schema.safeParse({ sender: { id: 'x' }, tags: [] }))).toBeUndefined();
  });
});
