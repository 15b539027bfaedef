import { describe, expect, it } from 'vitest';
import { docsPage, openApiDocument } from './openapi.js';

describe('the OpenAPI document', () => {
  const document = openApiDocument();

  it('is OpenAPI 3.1 and derives request bodies from the validating zod schemas', () => {
    expect(document.openapi).toBe('3.1.0');
    const body = document.paths['/v1/messages'].post.requestBody.content['application/json'].schema as {
      required?: string[];
      properties: Record<string, unknown>;
    };
    expect(body.required).toEqual(expect.arrayContaining(['conversation_id', 'text']));
    expect(body.required).not.toContain('message_id');
    // The sender is the caller's credential unless it may act for its users: naming one is optional.
    expect(body.required).not.toContain('sender');
    expect(Object.keys(body.properties)).toContain('sender');
    expect(Object.keys(body.properties)).toContain('conversation_type');
  });

  it('renders a docs page listing every operation, escaped', () => {
    const html = docsPage(document);
    expect(html).toContain('<code>/v1/runs/{workflowId}/approve</code>');
    expect(html).toContain('href="/openapi.json"');
    expect(html).not.toMatch(/<script/);
  });

  it("publishes each route's permission, from the same description that guards it", () => {
    expect(document.paths['/v1/runs/{workflowId}/cancel'].post['x-permission']).toBe('runs:cancel');
    expect(document.paths['/webhooks/{channel}'].post['x-permission']).toBe('public');
    expect(document.paths['/v1/ws'].get['x-permission']).toBe('runs:read');
    expect(docsPage(document)).toContain('<td>privacy:manage</td>');
  });
});
