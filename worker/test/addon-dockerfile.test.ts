// What can be checked of the add-on's Dockerfile without a Docker engine: the base image is
// pinned, every COPY source exists, the pinned Node.js suits the package, native modules build
// in a removed virtual group, and the paths the start script expects are where the image puts them.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface Instruction {
  readonly keyword: string;
  readonly text: string;
}

/** The Dockerfile as instructions: comments dropped, continuation lines joined. */
function instructions(): Instruction[] {
  const source = readFileSync(path.join(REPO_ROOT, 'addon/Dockerfile'), 'utf8');
  const logical = source
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return logical
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), text: rest.join(' ') };
    });
}

/** ARG defaults declared before the first FROM (the ones FROM lines may use). */
function globalArgs(): Map<string, string> {
  const args = new Map<string, string>();
  for (const instruction of instructions()) {
    if (instruction.keyword === 'FROM') break;
    if (instruction.keyword === 'ARG') {
      const [name = '', value = ''] = instruction.text.split('=');
      args.set(name, value);
    }
  }
  return args;
}

interface Copy {
  readonly from: string | undefined;
  readonly sources: string[];
  readonly destination: string;
}

function copies(): Copy[] {
  return instructions()
    .filter((instruction) => instruction.keyword === 'COPY')
    .map((instruction) => {
      const words = instruction.text.split(/\s+/);
      const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((word) => !word.startsWith('--'));
      return { from, sources: paths.slice(0, -1), destination: paths.at(-1) ?? '' };
    });
}

function readJson<T>(relative: string): T {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, relative), 'utf8')) as T;
}

/** Whether an engines range of the simple kinds used here (`>=N`, `a.x || b.x`) allows a Node.js major. */
function allowsMajor(range: string, major: number): boolean {
  return range.split('||').some((part) => {
    const alternative = part.trim();
    const atLeast = /^>=\s*(\d+)/.exec(alternative);
    if (atLeast) return major >= Number(atLeast[1]);
    const exact = /^(\d+)(\.x)?$/.exec(alternative);
    if (exact) return major === Number(exact[1]);
    throw new Error(`cannot read the engines range '${alternative}'`);
  });
}

test('the base image is a Home Assistant base image pinned to a release', () => {
  const base = globalArgs().get('BASE_IMAGE');
  assert.ok(base, 'no ARG BASE_IMAGE with a default before the first FROM');
  assert.match(base, /^ghcr\.io\/home-assistant\/base:\d+\.\d+-\d{4}\.\d{2}\.\d+$/);
  const froms = instructions().filter((instruction) => instruction.keyword === 'FROM').map((instruction) => instruction.text.split(/\s+/)[0]);
  // Every stage starts from the pinned base, from scratch (the source stage), or from a stage.
  for (const from of froms) assert.ok(from === '${BASE_IMAGE}' || from === 'scratch', `FROM ${from} is not the pinned base`);
  assert.not.ok(readFileSync(path.join(REPO_ROOT, 'addon/Dockerfile'), 'utf8').includes(':latest'), 'the Dockerfile uses a :latest image');
});

test('the source stage fetches the tag of the add-on version from the repository in config.yaml', () => {
  const args = globalArgs();
  const config = parse(readFileSync(path.join(REPO_ROOT, 'addon/config.yaml'), 'utf8')) as { version: string; url: string };
  assert.is(args.get('BUILD_VERSION'), config.version);
  assert.is(args.get('SOURCE_REPOSITORY'), `${config.url}.git`);
  const add = instructions().find((instruction) => instruction.keyword === 'ADD');
  assert.is(add?.text, '${SOURCE_REPOSITORY}#v${BUILD_VERSION} /');
});

test('every path the Dockerfile copies exists in the repository', () => {
  const all = copies();
  assert.ok(all.length > 0);
  for (const copy of all) {
    for (const source of copy.sources) {
      // Without --from the build context is addon/ (the Supervisor builds there); the source
      // stage is the repository root; the build stage's dist/ is compiled from worker/src.
      const inRepo =
        copy.from === undefined
          ? path.join('addon', source)
          : copy.from === 'source'
            ? source
            : copy.from === 'build'
              ? source.replace(/^\/usr\/src\/whatsapp-worker\/dist\//, '')
              : undefined;
      assert.ok(inRepo !== undefined, `COPY --from=${copy.from} is from an unknown stage`);
      assert.ok(existsSync(path.join(REPO_ROOT, inRepo)), `COPY ${copy.from ? `--from=${copy.from} ` : ''}${source}: ${inRepo} does not exist`);
    }
  }
});

test('Node.js is a version that package.json and better-sqlite3 both accept', () => {
  const dockerfile = readFileSync(path.join(REPO_ROOT, 'addon/Dockerfile'), 'utf8');
  const pins = [...dockerfile.matchAll(/\bnodejs~(\d+)\b/g)].map((match) => Number(match[1]));
  assert.ok(pins.length >= 1, 'nodejs is not pinned to a major version');
  assert.ok(pins.every((pin) => pin === pins[0]), `the stages pin different Node.js versions: ${pins.join(', ')}`);
  const major = pins[0] ?? 0;
  const packageJson = readJson<{ engines: { node: string }; dependencies: Record<string, string> }>('package.json');
  assert.ok(allowsMajor(packageJson.engines.node, major), `package.json engines.node ${packageJson.engines.node} refuses Node ${major}`);
  const sqlite = readJson<{ version: string; engines: { node: string } }>('node_modules/better-sqlite3/package.json');
  assert.is(sqlite.version, packageJson.dependencies['better-sqlite3'], 'installed better-sqlite3 is not the pinned one');
  assert.ok(allowsMajor(sqlite.engines.node, major), `better-sqlite3 ${sqlite.version} (engines ${sqlite.engines.node}) refuses Node ${major}`);
});

test('the runtime installs production dependencies and builds natives in a removed virtual group', () => {
  const runs = instructions().filter((instruction) => instruction.keyword === 'RUN').map((instruction) => instruction.text);
  const runtime = runs.find((text) => text.includes('--omit=dev'));
  assert.ok(runtime, 'no `npm ci --omit=dev`');
  assert.match(runtime, 'apk add --no-cache --virtual .build-deps');
  assert.match(runtime, /--ignore-scripts/);
  assert.match(runtime, 'npm rebuild better-sqlite3');
  assert.match(runtime, 'apk del .build-deps');
  assert.ok(runtime.indexOf('apk del .build-deps') > runtime.indexOf('npm rebuild'), 'the build tools are removed before the native build');
});

test('the image puts the worker and the start script where run.mjs and CMD expect them', () => {
  const all = instructions();
  const runtimeStart = all.map((instruction) => instruction.keyword).lastIndexOf('FROM');
  const workdir = all.slice(runtimeStart).find((instruction) => instruction.keyword === 'WORKDIR')?.text;
  assert.ok(workdir, 'the runtime stage has no WORKDIR');
  const packageJson = readJson<{ bin: Record<string, string> }>('package.json');
  const bin = packageJson.bin['whatsapp-worker'];
  assert.ok(bin, 'package.json has no whatsapp-worker bin');
  const runScript = readFileSync(path.join(REPO_ROOT, 'addon/run.mjs'), 'utf8');
  assert.match(runScript, `const DEFAULT_WORKER_BIN = '${path.posix.join(workdir, bin)}';`);
  assert.ok(copies().some((copy) => copy.from === 'source' && copy.sources.includes(path.posix.dirname(bin))), 'the worker bin folder is not copied');

  const runCopy = copies().find((copy) => copy.from === undefined && copy.sources.includes('run.mjs'));
  assert.ok(runCopy, 'run.mjs is not copied into the image');
  // Outside a package with "type": "module" only the .mjs ending makes Node load it as ESM.
  assert.match(runCopy.destination, /\.mjs$/);
  const cmd = all.find((instruction) => instruction.keyword === 'CMD');
  assert.equal(JSON.parse(cmd?.text ?? 'null'), ['node', runCopy.destination]);
  assert.ok(all.some((instruction) => instruction.keyword === 'ENTRYPOINT' && instruction.text === '[]'), 's6 /init is not bypassed');
});

test.run();
