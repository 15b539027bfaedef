// The official Temporal CLI reads Conduit's encrypted runs through the codec endpoints, as docs/security.md
// tells operators to: workflow list, show, describe and query with --codec-endpoint and --codec-auth. The CLI
// is the real binary in .tools/bin (built once by global setup), run against the shared dev server.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot, startTestPlatform, type TestPlatform } from './support/platform.js';

let platform: TestPlatform;
let workflowId: string;
const secret = `cli-decoded-${randomBytes(6).toString('hex')}`;

beforeAll(async () => {
  platform = await startTestPlatform();
  const response = await platform.api('/v1/messages?wait=30', {
    method: 'POST',
    body: JSON.stringify({ conversation_id: 'cli', sender: { id: 'u-cli' }, text: `/echo ${secret}` }),
  });
  const body = (await response.json()) as { workflowId: string; result?: { reply?: string } };
  expect(body.result?.reply).toBe(secret);
  workflowId = body.workflowId;
});
afterAll(async () => {
  await platform?.stop();
});

/**
 * Runs the CLI asynchronously: the query is answered by the worker and the codec by the API of this very
 * process, so a synchronous child would deadlock the event loop they need.
 */
function temporal(args: string[], codecAuth: string | null = `Bearer ${platform.adminKey}`) {
  const codec = codecAuth === null ? [] : ['--codec-endpoint', `${platform.apiUrl}/codec`, '--codec-auth', codecAuth];
  const fullArgs = [
    ...args,
    '--address',
    platform.temporalAddress,
    '--namespace',
    platform.config.temporal.namespace,
    ...codec,
  ];
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      join(projectRoot, '.tools/bin/temporal'),
      fullArgs,
      // No profile from the machine's home directory may change the address or the codec.
      { timeout: 60_000, env: { ...process.env, TEMPORAL_CONFIG_FILE: join(projectRoot, 'no-such-temporal.toml') } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('the Temporal CLI through the codec endpoints', () => {
  it('workflow show prints the decoded message and reply; without the codec it sees ciphertext only', async () => {
    const shown = await temporal(['workflow', 'show', '--workflow-id', workflowId]);
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    expect(shown.stdout).toContain(`"reply":"${secret}"`);
    const raw = await temporal(['workflow', 'show', '--workflow-id', workflowId], null);
    expect(raw.code).toBe(0);
    expect(raw.stdout).not.toContain(secret);
    expect(raw.stdout).toContain('binary/encrypted');
  });

  it('workflow describe and list decode through the codec', async () => {
    const described = await temporal(['workflow', 'describe', '--workflow-id', workflowId]);
    expect(described).toMatchObject({ code: 0, stderr: '' });
    expect(described.stdout).toContain(`"reply":"${secret}"`);
    const listed = await temporal(['workflow', 'list', '--query', `WorkflowId = '${workflowId}'`, '--output', 'json']);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(listed.stdout).toContain(workflowId);
  });

  it('workflow query --type status, a query without arguments, answers through the codec', async () => {
    const queried = await temporal(['workflow', 'query', '--workflow-id', workflowId, '--type', 'status']);
    expect(queried).toMatchObject({ code: 0, stderr: '' });
    expect(queried.stdout).toContain(secret);
  });

  it('reports a refused credential as the codec error, with no plaintext', async () => {
    const refused = await temporal(
      ['workflow', 'query', '--workflow-id', workflowId, '--type', 'status'],
      'Bearer cdt_not-a-key',
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('invalid, expired or revoked credentials');
    expect(refused.stdout).not.toContain(secret);
  });
});
