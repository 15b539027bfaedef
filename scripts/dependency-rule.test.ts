// The dependency rule of docs/architecture.md, run over this checkout. Violations that were there when the rule
// landed are listed below; the list may only shrink: a new violation fails, and so does an entry that no longer
// occurs (whoever fixes one deletes its line). `npm run layers` prints the current violations.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDependencyRule, type Edge, formatViolation, judge, readImports } from './dependency-rule.js';

const KNOWN_VIOLATIONS: readonly string[] = [
  // `<rule> <importing file> -> <imported file>`, as `npm run layers` prints them; delete the line you fix.
];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

describe('the dependency rule on this checkout', () => {
  let found: string[];
  beforeAll(async () => {
    found = (await checkDependencyRule(ROOT)).map(formatViolation);
  }, 120_000);

  it('finds no violation beyond the known ones', () => {
    expect(found.filter((v) => !KNOWN_VIOLATIONS.includes(v))).toEqual([]);
  });

  it('lists no known violation that is gone (delete fixed ones from KNOWN_VIOLATIONS)', () => {
    expect(KNOWN_VIOLATIONS.filter((v) => !found.includes(v))).toEqual([]);
  });
});

const value = (from: string, to: string): Edge => ({ from, to, kind: 'local', value: true });
const typeOnly = (from: string, to: string): Edge => ({ from, to, kind: 'local', value: false });
const rules = (edges: Edge[]) => judge(edges, [...new Set(edges.map((e) => e.from))]).map(formatViolation);

describe('the rules', () => {
  it('let value imports point down a layer, or stay within a folder without a cycle', () => {
    expect(
      rules([
        value('runs/accept-message.ts', 'db/client.ts'),
        value('api/app.ts', 'core/errors.ts'),
        value('llm/router.ts', 'llm/presets.ts'),
        value('channels/feishu/adapter.ts', 'security/address-guard.ts'),
        value('scripts/start.ts', 'api/server.ts'),
      ]),
    ).toEqual([]);
  });

  it('refuse a value import that points up or sideways within a layer', () => {
    expect(
      rules([value('tools/builtin/reminder.ts', 'activities/jobs.ts'), value('db/client.ts', 'storage/blob.ts')]),
    ).toEqual(['layer db/client.ts -> storage/blob.ts', 'layer tools/builtin/reminder.ts -> activities/jobs.ts']);
  });

  it('report every import on a value cycle, and ignore cycles closed by a type-only import', () => {
    expect(
      rules([
        value('llm/a.ts', 'llm/b.ts'),
        value('llm/b.ts', 'llm/a.ts'),
        value('llm/b.ts', 'llm/c.ts'),
        value('storage/x.ts', 'storage/y.ts'),
        typeOnly('storage/y.ts', 'storage/x.ts'),
      ]),
    ).toEqual(['no-cycle llm/a.ts -> llm/b.ts', 'no-cycle llm/b.ts -> llm/a.ts']);
  });

  it('let type-only imports go anywhere but into the entry points, which nothing below imports', () => {
    expect(
      rules([
        typeOnly('core/message.ts', 'channels/adapter.ts'),
        typeOnly('db/client.ts', 'workflows/handle-message.ts'),
        typeOnly('runs/contract.ts', 'api/schemas.ts'),
        value('workflows/x.ts', 'workers/create-worker.ts'),
        typeOnly('api/app.ts', 'workers/create-worker.ts'),
      ]),
    ).toEqual([
      'core-imports-project core/message.ts -> channels/adapter.ts',
      'entry-imported runs/contract.ts -> api/schemas.ts',
      'entry-imported workflows/x.ts -> workers/create-worker.ts',
      'type-into-entry api/app.ts -> workers/create-worker.ts',
    ]);
  });

  it('keep everything value-reachable from workflows/index.ts free of Node modules and other packages', () => {
    expect(
      rules([
        value('workflows/index.ts', 'workflows/handle-message.ts'),
        value('workflows/handle-message.ts', 'runs/contract.ts'),
        { from: 'workflows/handle-message.ts', to: '@temporalio/workflow', kind: 'npm', value: true },
        { from: 'workflows/handle-message.ts', to: '@temporalio/common', kind: 'npm', value: true },
        { from: 'runs/contract.ts', to: 'node:crypto', kind: 'core', value: true },
        { from: 'runs/contract.ts', to: 'zod/v4', kind: 'npm', value: true },
        typeOnly('workflows/handle-message.ts', 'llm/router.ts'),
        { from: 'llm/router.ts', to: 'openai', kind: 'npm', value: true },
      ]),
    ).toEqual(['workflow-safe runs/contract.ts -> node:crypto', 'workflow-safe runs/contract.ts -> zod']);
  });

  it('report a production folder the layer table does not place', () => {
    expect(rules([value('ingress/start.ts', 'core/errors.ts'), value('test/x.ts', 'api/app.ts')])).toEqual([
      'unknown-folder ingress/ -> -',
    ]);
  });
});

describe('reading imports with dependency-cruiser', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'conduit-dependency-rule-'));
    const files: Record<string, string> = {
      'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }),
      'core/errors.ts': 'export class AppError extends Error {}\nexport interface Shape { a: number }\n',
      'llm/router.ts': [
        "import type { Shape } from '../core/errors.js';",
        "import { type AppError } from '../core/errors.js';",
        "import { createHash } from 'node:crypto';",
        'export const route = (s: Shape, e?: AppError) => createHash("sha1").update(String(s.a) + e).digest("hex");',
      ].join('\n'),
      'workflows/index.ts': "export { route } from '../llm/router.js';\n",
      'llm/router.test.ts': "import '../api/app.js';\n",
    };
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('tells type-only imports from value imports, and skips test files', async () => {
    const { edges, files } = await readImports(dir);
    expect(files.sort()).toEqual(['core/errors.ts', 'llm/router.ts', 'workflows/index.ts']);
    expect(edges.map((e) => `${e.from} -> ${e.to} ${e.kind} ${e.value ? 'value' : 'type'}`).sort()).toEqual([
      'llm/router.ts -> core/errors.ts local type',
      'llm/router.ts -> node:crypto core value',
      'workflows/index.ts -> llm/router.ts local value',
    ]);
    expect(judge(edges, files).map(formatViolation)).toEqual(['workflow-safe llm/router.ts -> node:crypto']);
  }, 60_000);
});
