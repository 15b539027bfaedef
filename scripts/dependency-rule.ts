// The dependency rule of docs/architecture.md: dependency-cruiser reads the imports of the production folders,
// this module judges them against the layer table. `npm run layers [-- <checkout>]` prints every violation;
// scripts/dependency-rule.test.ts runs the same check in `npm test` against a list that may only shrink.
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cruise, type IModule } from 'dependency-cruiser';

/** Layers, bottom to top: a value import may only point to a lower layer, or stay inside its own folder. */
export const LAYERS: Readonly<Record<string, number>> = {
  core: 0,
  db: 1,
  storage: 1,
  security: 1,
  pii: 1,
  channels: 1,
  audit: 2,
  llm: 2,
  runs: 3,
  conversations: 4,
  jobs: 4,
  tools: 5,
  privacy: 6,
  platform: 7,
  activities: 8,
  workflows: 8,
  api: 9,
  workers: 9,
  scripts: 9,
};

/**
 * Imports between folders of one layer that the table itself names: channels import core, security and pii;
 * the npm scripts (the all-in-one `npm start`, `npm run keys`) compose the API and worker roles.
 */
export const SAME_LAYER_ALLOWED: ReadonlyArray<readonly [from: string, to: string]> = [
  ['channels', 'security'],
  ['channels', 'pii'],
  ['scripts', 'api'],
  ['scripts', 'workers'],
];

/** Entry points: nothing else imports them, not even for a type. */
export const ENTRY_FOLDERS: ReadonlySet<string> = new Set(['api', 'workers', 'scripts']);

/** Top-level folders that hold no production code and are not checked (their files may import anything). */
export const UNCHECKED_FOLDERS: ReadonlySet<string> = new Set([
  'test',
  'bench',
  'deploy',
  'docs',
  'data',
  'scratch',
  'node_modules',
]);

/** The bundle root of the worker's workflows; everything value-reachable from it must be workflow-safe. */
export const WORKFLOW_ROOT = 'workflows/index.ts';

/**
 * The npm packages workflow code may load: the SDK's workflow package and `@temporalio/common`, which the workflow
 * package itself is built on (it is in every workflow bundle, runs in the sandbox, and holds what the workflow
 * package does not re-export, such as `defineSearchAttributeKey`).
 */
export const WORKFLOW_PACKAGES: ReadonlySet<string> = new Set(['@temporalio/workflow', '@temporalio/common']);

export type RuleName =
  | 'no-cycle' // (a) a value import that lies on an import cycle between files
  | 'layer' // (b) a value import across folders that does not point to a lower layer
  | 'type-into-entry' // (c) a type-only import from one entry folder into another
  | 'entry-imported' // (d) production code outside api/, workers/, scripts/ imports one of them
  | 'workflow-safe' // (e) code value-reachable from workflows/index.ts loads a Node builtin or an npm package
  | 'core-imports-project' // (f) core/ imports another folder of the project (even for a type)
  | 'unknown-folder'; // a top-level folder with code that the layer table does not place

export interface Violation {
  rule: RuleName;
  /** The importing file, relative to the checkout. */
  from: string;
  /** The imported file, Node module or npm package (or, for unknown-folder, the folder). */
  to: string;
}

/** One import as the rule sees it. */
export interface Edge {
  from: string;
  /** A file relative to the checkout (`kind: 'local'`), a Node module name (`core`) or an npm specifier. */
  to: string;
  kind: 'local' | 'core' | 'npm';
  /** False for `import type` and for imports TypeScript erases because only types are used. */
  value: boolean;
}

export function topFolder(file: string): string {
  const slash = file.indexOf('/');
  return slash < 0 ? '' : file.slice(0, slash);
}

/** The package an npm specifier names: `@scope/name` or `name`, without a subpath. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

/** Production code: any file in a top-level folder other than the unchecked ones, tests excepted. */
function isProduction(file: string): boolean {
  const folder = topFolder(file);
  return folder !== '' && !folder.startsWith('.') && !UNCHECKED_FOLDERS.has(folder) && !/\.test\.ts$/.test(file);
}

function key(v: Violation): string {
  return `${v.rule} ${v.from} -> ${v.to}`;
}

/** Judges a set of imports (the production files' own, as `readImports` returns them). Sorted, no duplicates. */
export function judge(edges: readonly Edge[], files: readonly string[]): Violation[] {
  const found = new Map<string, Violation>();
  const add = (v: Violation) => found.set(key(v), v);
  const sameLayerAllowed = new Set(SAME_LAYER_ALLOWED.map(([a, b]) => `${a}>${b}`));

  for (const file of files) {
    const folder = topFolder(file);
    if (isProduction(file) && !(folder in LAYERS)) add({ rule: 'unknown-folder', from: `${folder}/`, to: '-' });
  }

  const checked = edges.filter((e) => isProduction(e.from));
  for (const edge of checked) {
    if (edge.kind !== 'local') continue;
    const a = topFolder(edge.from);
    const b = topFolder(edge.to);
    if (a === b) continue;
    if (!(a in LAYERS)) {
    } else if (a === 'core') {
      add({ rule: 'core-imports-project', from: edge.from, to: edge.to });
    } else if (ENTRY_FOLDERS.has(b) && !ENTRY_FOLDERS.has(a)) {
      add({ rule: 'entry-imported', from: edge.from, to: edge.to });
    } else if (!edge.value) {
      if (ENTRY_FOLDERS.has(b)) add({ rule: 'type-into-entry', from: edge.from, to: edge.to });
    } else {
      const la = LAYERS[a];
      const lb = LAYERS[b];
      const lower = la !== undefined && lb !== undefined && lb < la;
      if (!lower && !sameLayerAllowed.has(`${a}>${b}`)) add({ rule: 'layer', from: edge.from, to: edge.to });
    }
  }

  // (a) An import lies on a cycle exactly when both ends are in the same strongly connected component.
  const valueEdges = checked.filter((e) => e.kind === 'local' && e.value && isProduction(e.to));
  const component = stronglyConnected(valueEdges);
  for (const edge of valueEdges) {
    const c = component.get(edge.from);
    if (c !== undefined && c === component.get(edge.to)) add({ rule: 'no-cycle', from: edge.from, to: edge.to });
  }

  // (e) Walk the value imports from the workflow bundle's root.
  const outgoing = new Map<string, Edge[]>();
  for (const edge of edges) {
    if (!edge.value) continue;
    const list = outgoing.get(edge.from) ?? [];
    list.push(edge);
    outgoing.set(edge.from, list);
  }
  const seen = new Set<string>([WORKFLOW_ROOT]);
  const queue = [WORKFLOW_ROOT];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const edge of outgoing.get(file) ?? []) {
      if (edge.kind === 'local') {
        if (!seen.has(edge.to)) {
          seen.add(edge.to);
          queue.push(edge.to);
        }
      } else if (edge.kind === 'core' || !WORKFLOW_PACKAGES.has(packageName(edge.to))) {
        add({ rule: 'workflow-safe', from: file, to: edge.kind === 'core' ? edge.to : packageName(edge.to) });
      }
    }
  }

  return [...found.values()].sort((x, y) => key(x).localeCompare(key(y)));
}

/** Tarjan's algorithm: a component number for every file that has an edge. */
function stronglyConnected(edges: readonly Edge[]): Map<string, number> {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const component = new Map<string, number>();
  let counter = 0;
  let components = 0;
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
        onStack.delete(w);
        component.set(w, components);
        if (w === v) break;
      }
      components += 1;
    }
  };
  const nodes = new Set(edges.flatMap((e) => [e.from, e.to]));
  for (const v of [...nodes].sort()) if (!index.has(v)) visit(v);
  return component;
}

/** Reads every import of the checkout's production files with dependency-cruiser (TypeScript aware). */
export async function readImports(root: string): Promise<{ edges: Edge[]; files: string[] }> {
  // Every top-level folder but the unchecked ones, so a folder missing from the table is seen and reported.
  const folders = readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.') && !UNCHECKED_FOLDERS.has(d.name))
    .map((d) => d.name)
    .sort();
  const result = await cruise(folders, {
    baseDir: root,
    tsConfig: { fileName: join(root, 'tsconfig.json') },
    // Marks `import type` (typeOnly) and imports TypeScript erases (preCompilationOnly): neither loads code.
    tsPreCompilationDeps: 'specify',
    exclude: { path: ['\\.test\\.ts$', '^node_modules/'] },
    doNotFollow: { path: ['node_modules'] },
  });
  if (typeof result.output === 'string') throw new Error('dependency-cruiser returned text, not a cruise result');
  // Only the checkout's own files: not node_modules (a symlink in worktrees, so `../…`), builtins or packages.
  const modules: IModule[] = result.output.modules.filter(
    (m) => !m.coreModule && !m.couldNotResolve && !m.matchesDoNotFollow && !m.source.startsWith('..'),
  );
  const edges: Edge[] = [];
  for (const module of modules) {
    for (const dep of module.dependencies) {
      const types = dep.dependencyTypes;
      const kind: Edge['kind'] = types.includes('core')
        ? 'core'
        : types.includes('local') || dep.module.startsWith('.')
          ? 'local'
          : 'npm';
      if (kind === 'local' && dep.couldNotResolve) {
        throw new Error(`${module.source}: cannot resolve ${dep.module}`);
      }
      edges.push({
        from: module.source,
        to: kind === 'local' ? dep.resolved : kind === 'core' ? `node:${dep.module.replace(/^node:/, '')}` : dep.module,
        kind,
        value: !(dep.typeOnly || dep.preCompilationOnly),
      });
    }
  }
  const files = modules.map((m) => m.source);
  return { edges, files };
}

export async function checkDependencyRule(root: string): Promise<Violation[]> {
  const { edges, files } = await readImports(root);
  return judge(edges, files);
}

export function formatViolation(v: Violation): string {
  return key(v);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = resolve(process.argv[2] ?? '.');
  const violations = await checkDependencyRule(root);
  for (const v of violations) console.log(formatViolation(v));
  const byRule = new Map<string, number>();
  for (const v of violations) byRule.set(v.rule, (byRule.get(v.rule) ?? 0) + 1);
  console.log(
    `${violations.length} violations in ${root}` +
      (byRule.size > 0 ? ` (${[...byRule].map(([r, n]) => `${r} ${n}`).join(', ')})` : ''),
  );
  process.exit(violations.length > 0 ? 1 : 0);
}
