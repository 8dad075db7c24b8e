// The house rules, read from the source: avatars/ is the pure core, the adapters (store/, files/,
// cdn/, wa/, ha/) depend on the core and never on each other, and no two folders import each
// other round a cycle. Every import under worker/src is parsed, so a new file cannot slip by.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

// dist/worker/test/architecture.test.js → worker/src (the TypeScript, not the compiled output).
const SOURCE_ROOT = fileURLToPath(new URL('../../../worker/src/', import.meta.url));
// The compiled tree: what `node` really loads, with type-only imports gone.
const COMPILED_ROOT = fileURLToPath(new URL('../src/', import.meta.url));

const CORE = 'avatars';
const ADAPTERS = new Set(['store', 'files', 'cdn', 'wa', 'ha']);
/** Packages the core may not touch: file and network I/O, SQLite, Baileys. */
const FORBIDDEN_IN_CORE = [/^(node:)?fs(\/promises)?$/, /^(node:)?net$/, /^(node:)?https?$/, /^got$/, /^better-sqlite3$/, /^@whiskeysockets\/baileys(\/|$)/];
/** Folders the core may not import: everything outside it but the kernel files at the top (clock, jid, logger). */
const FOLDERS_FORBIDDEN_IN_CORE = new Set([...ADAPTERS, 'sim', 'worker', 'cli']);
const ROOT = '(top level)';

export interface SourceImport {
  /** The importing file, relative to worker/src, with `/` separators. */
  readonly file: string;
  /** The specifier as written. */
  readonly specifier: string;
  /** For a relative import: the imported file, relative to worker/src. */
  readonly target?: string;
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Block comments and whole-line comments go first, so a commented-out import is not counted. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

const IMPORT_PATTERNS = [
  /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm,
  /^\s*import\s*['"]([^'"]+)['"]/gm,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
];

export function parseImports(file: string, text: string): SourceImport[] {
  const found: SourceImport[] = [];
  const code = withoutComments(text);
  for (const pattern of IMPORT_PATTERNS) {
    for (const match of code.matchAll(pattern)) {
      const specifier = match[1]!;
      if (!specifier.startsWith('.')) {
        found.push({ file, specifier });
        continue;
      }
      const target = normalize(join(dirname(file), specifier.replace(/\.js$/, '.ts'))).split(sep).join('/');
      found.push({ file, specifier, target });
    }
  }
  return found;
}

export function folderOf(file: string): string {
  const slash = file.indexOf('/');
  return slash === -1 ? ROOT : file.slice(0, slash);
}

/** Every broken rule, one line each; empty when the house is in order. */
export function architectureProblems(imports: readonly SourceImport[]): string[] {
  const problems: string[] = [];
  const edges = new Map<string, Map<string, string>>();
  for (const { file, specifier, target } of imports) {
    const from = folderOf(file);
    if (target !== undefined && target.startsWith('..')) {
      problems.push(`${file} imports '${specifier}', outside worker/src`);
      continue;
    }
    const to = target === undefined ? undefined : folderOf(target);
    if (from === CORE) {
      if (target === undefined && FORBIDDEN_IN_CORE.some((rule) => rule.test(specifier))) {
        problems.push(`${file} (the core) imports '${specifier}': no file, network, SQLite or Baileys in avatars/`);
      }
      if (to !== undefined && FOLDERS_FORBIDDEN_IN_CORE.has(to)) problems.push(`${file} (the core) imports '${specifier}' from ${to}/`);
    }
    if (to !== undefined && to !== from && ADAPTERS.has(from) && ADAPTERS.has(to)) {
      problems.push(`${file} (adapter ${from}/) imports '${specifier}' from adapter ${to}/`);
    }
    if (to !== undefined && to !== from) {
      const out = edges.get(from) ?? new Map<string, string>();
      if (!out.has(to)) out.set(to, `${file} → ${target}`);
      edges.set(from, out);
    }
  }
  problems.push(...folderCycles(edges));
  return problems;
}

/** Each cycle between folders once, with one import that makes each of its steps. */
function folderCycles(edges: ReadonlyMap<string, ReadonlyMap<string, string>>): string[] {
  const cycles: string[] = [];
  const seen = new Set<string>();
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (folder: string): void => {
    if (done.has(folder)) return;
    const at = path.indexOf(folder);
    if (at !== -1) {
      const loop = [...path.slice(at), folder];
      const key = [...loop.slice(0, -1)].sort().join(',');
      if (!seen.has(key)) {
        seen.add(key);
        const steps = loop.slice(0, -1).map((step, i) => edges.get(step)!.get(loop[i + 1]!)!);
        cycles.push(`import cycle between folders ${loop.join(' → ')} (${steps.join('; ')})`);
      }
      return;
    }
    path.push(folder);
    for (const next of edges.get(folder)?.keys() ?? []) visit(next);
    path.pop();
    done.add(folder);
  };
  for (const folder of edges.keys()) visit(folder);
  return cycles;
}

function workerImports(): SourceImport[] {
  return sourceFiles(SOURCE_ROOT).flatMap((path) => parseImports(relative(SOURCE_ROOT, path).split(sep).join('/'), readFileSync(path, 'utf8')));
}

test('the parser sees every kind of import and skips commented ones', () => {
  const text = [
    "import type { A } from '../store/a.js';",
    'import {',
    '  B,',
    "} from 'got';",
    "export { C } from './c.js';",
    "import 'node:fs';",
    "const d = await import('../wa/d.js');",
    "// import { E } from '../ha/e.js';",
    "/* import { F } from '../cdn/f.js'; */",
  ].join('\n');
  const found = parseImports('avatars/x.ts', text).map((entry) => entry.target ?? entry.specifier).sort();
  assert.equal(found, ['avatars/c.ts', 'got', 'node:fs', 'store/a.ts', 'wa/d.ts']);
});

test('the rules catch a core that does I/O, adapters that know each other and a folder cycle', () => {
  const bad: SourceImport[] = [
    ...parseImports('avatars/queue.ts', "import got from 'got';\nimport { x } from '../store/x.js';"),
    ...parseImports('cdn/download.ts', "import { y } from '../files/y.js';"),
    ...parseImports('worker/run.ts', "import { z } from '../cli/z.js';"),
    ...parseImports('cli/z.ts', "import { w } from '../worker/w.js';"),
  ];
  const problems = architectureProblems(bad);
  assert.ok(problems.some((line) => line.includes("avatars/queue.ts (the core) imports 'got'")), problems.join('\n'));
  assert.ok(problems.some((line) => line.includes("avatars/queue.ts (the core) imports '../store/x.js' from store/")), problems.join('\n'));
  assert.ok(problems.some((line) => line.includes('cdn/download.ts (adapter cdn/) imports') && line.includes('from adapter files/')), problems.join('\n'));
  assert.ok(problems.some((line) => /import cycle between folders (worker → cli → worker|cli → worker → cli)/.test(line)), problems.join('\n'));
});

test('worker/src keeps the house rules', () => {
  const imports = workerImports();
  // A parser that found nothing would pass any rule: the tree has well over a hundred imports.
  assert.ok(imports.length > 100, `only ${imports.length} imports found under ${SOURCE_ROOT}`);
  assert.ok(imports.some((entry) => entry.file.startsWith('avatars/')), 'no file found under avatars/');
  const problems = architectureProblems(imports);
  assert.equal(problems, [], `\n${problems.join('\n')}`);
});

test('test fakes live in worker/test/support, not in the production tree', () => {
  const fakes = sourceFiles(SOURCE_ROOT).flatMap((path) => {
    const declared = [...withoutComments(readFileSync(path, 'utf8')).matchAll(/^export\s+(?:class|const|function)\s+(Fake\w*)/gm)];
    return declared.map((match) => `${relative(SOURCE_ROOT, path).split(sep).join('/')}: ${match[1]}`);
  });
  assert.equal(fakes, [], 'a fake exported under worker/src');
});

/** Every package and file a compiled module loads before it runs: static imports, followed; `import()` not. */
export function staticallyLoaded(entry: string, read: (file: string) => string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const code = withoutComments(read(file));
    for (const pattern of IMPORT_PATTERNS.slice(0, 2)) {
      for (const match of code.matchAll(pattern)) {
        const specifier = match[1]!;
        if (specifier.startsWith('.')) pending.push(normalize(join(dirname(file), specifier)).split(sep).join('/'));
        else packages.add(specifier);
      }
    }
  }
  return { files, packages };
}

test('`status` loads neither Baileys, got, the simulation nor the HA socket', () => {
  const read = (file: string): string => readFileSync(join(COMPILED_ROOT, file), 'utf8');
  const loaded = staticallyLoaded('cli/main.js', read);
  for (const file of staticallyLoaded('cli/status.js', read).files) loaded.files.add(file);
  for (const name of staticallyLoaded('cli/status.js', read).packages) loaded.packages.add(name);
  assert.ok(loaded.files.has('store/database.js'), [...loaded.files].join(', '));
  const heavy = [...loaded.packages].filter((name) => /^(@whiskeysockets\/baileys|got|home-assistant-js-websocket|ws|qrcode|qrcode-terminal|selfsigned)(\/|$)/.test(name));
  assert.equal(heavy, [], `status loads ${heavy.join(', ')}`);
  const outer = [...loaded.files].filter((file) => /^(sim|ha|wa|cdn)\//.test(file) || file === 'cli/compose.js');
  assert.equal(outer, [], `status loads ${outer.join(', ')}`);
});

test('the load check sees a heavy import when there is one', () => {
  const modules: Record<string, string> = {
    'cli/main.js': "import { a } from './a.js';\nconst later = () => import('../sim/b.js');",
    'cli/a.js': "import got from 'got';",
  };
  const loaded = staticallyLoaded('cli/main.js', (file) => modules[file]!);
  assert.equal([...loaded.files].sort(), ['cli/a.js', 'cli/main.js']);
  assert.equal([...loaded.packages], ['got']);
});

test.run();
