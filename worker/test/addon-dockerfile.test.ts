// What can be checked of the app's Dockerfile by reading it (scripts/test-image.sh builds and runs
// it): the Supervisor can build it from addon/ alone (no GitHub, no remote ADD, every COPY source
// there), the base and Node.js are pinned and checked, the worker comes from the npm registry at
// the app's version, the build tools leave in the layer that brought them, and the paths match.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { dockerfileArgDefaults } from '../bench/app-node.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DOCKERFILE = readFileSync(path.join(REPO_ROOT, 'addon/Dockerfile'), 'utf8');
// The local worker tarball scripts/test-image.sh drops into a copy of addon/; never committed.
const OPTIONAL_WORKER_TARBALL = 'worker-package.tg[z]';

interface Instruction {
  readonly keyword: string;
  readonly text: string;
}

/** The Dockerfile as instructions: comments dropped, continuation lines joined. */
function instructions(): Instruction[] {
  const logical = DOCKERFILE.split('\n')
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

function arg(name: string): string {
  // The same reading of ARG defaults as `npm run bench` uses to fetch the app's Node.
  const value = dockerfileArgDefaults(DOCKERFILE).get(name);
  assert.ok(value, `the Dockerfile has no ARG ${name} with a default`);
  return value;
}

function readJson<T>(relative: string): T {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, relative), 'utf8')) as T;
}

/** Whether an engines range of the simple kinds used here (`>=N`, `a.x || b.x`, `20.x || >=22`) allows a Node.js major. */
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

function installRun(): string {
  const run = instructions().find((instruction) => instruction.keyword === 'RUN' && instruction.text.includes('--omit=dev'));
  assert.ok(run, 'no RUN installs the worker with --omit=dev');
  return run.text;
}

test('the base is Home Assistant\'s Debian base image, pinned to a Debian release and a docker-base release', () => {
  assert.match(arg('BASE_IMAGE'), /^ghcr\.io\/home-assistant\/base-debian:[a-z]+-\d{4}\.\d{2}\.\d+$/);
  const froms = instructions().filter((instruction) => instruction.keyword === 'FROM');
  assert.equal(froms.map((from) => from.text), ['${BASE_IMAGE}'], 'one stage, from the pinned base');
  assert.not.ok(DOCKERFILE.includes(':latest'), 'the Dockerfile uses a :latest image');
});

test('the Dockerfile has no GitHub URL and no ADD (nothing is fetched from a repository)', () => {
  assert.not.match(DOCKERFILE, /github\.com|githubusercontent|git@|\.git\b/i);
  assert.equal(instructions().filter((instruction) => instruction.keyword === 'ADD'), []);
  // Every URL it fetches is the npm registry's.
  for (const url of DOCKERFILE.match(/https?:\/\/[^\s"'}]+/g) ?? []) assert.match(url, /^https:\/\/registry\.npmjs\.org/, `fetches ${url}`);
});

test('every COPY source is in addon/ (the build context); the local tarball is optional and ignored by git', () => {
  const copies = instructions().filter((instruction) => instruction.keyword === 'COPY');
  assert.ok(copies.length > 0);
  for (const copy of copies) {
    const words = copy.text.split(/\s+/);
    assert.not.ok(words.some((word) => word.startsWith('--from=')), 'a COPY --from needs a second stage or image');
    for (const source of words.slice(0, -1)) {
      if (source === OPTIONAL_WORKER_TARBALL) continue;
      assert.ok(existsSync(path.join(REPO_ROOT, 'addon', source)), `COPY ${source}: addon/${source} does not exist`);
    }
    // The glob alone could match nothing, which a classic docker build refuses.
    assert.ok(words.slice(0, -1).some((source) => source !== OPTIONAL_WORKER_TARBALL), `COPY ${copy.text} has no source that always exists`);
  }
  assert.match(readFileSync(path.join(REPO_ROOT, 'addon/.gitignore'), 'utf8'), /^worker-package\.tgz$/m);
});

test('the worker is the npm package of package.json at the app version', () => {
  const config = parse(readFileSync(path.join(REPO_ROOT, 'addon/config.yaml'), 'utf8')) as { version: string };
  const packageJson = readJson<{ name: string; version: string }>('package.json');
  assert.is(arg('BUILD_VERSION'), config.version);
  assert.match(installRun(), `package="${packageJson.name}@\${BUILD_VERSION}"`);
  assert.match(installRun(), '--omit=dev');
  assert.match(installRun(), `grep -q "\\"version\\": \\"\${BUILD_VERSION}\\"" package.json`);
});

test('Node.js is pinned, checked by sha512 for both architectures, and accepted by the package and better-sqlite3', () => {
  const version = arg('NODE_VERSION');
  assert.match(version, /^\d+\.\d+\.\d+$/);
  const major = Number(version.split('.')[0]);
  assert.ok(major >= 24, `Node.js ${version}: 20 and 22 are past or near their end of life`);
  for (const name of ['NODE_SHA512_AMD64', 'NODE_SHA512_ARM64', 'NPM_SHA512']) assert.match(arg(name), /^[0-9a-f]{128}$/, name);
  assert.is((DOCKERFILE.match(/sha512sum --check --strict/g) ?? []).length, 2, 'both downloads are checked');
  const packageJson = readJson<{ engines: { node: string }; dependencies: Record<string, string> }>('package.json');
  assert.ok(allowsMajor(packageJson.engines.node, major), `package.json engines.node ${packageJson.engines.node} refuses Node ${major}`);
  const sqlite = readJson<{ version: string; engines: { node: string } }>('node_modules/better-sqlite3/package.json');
  assert.is(sqlite.version, packageJson.dependencies['better-sqlite3'], 'installed better-sqlite3 is not the pinned one');
  assert.ok(allowsMajor(sqlite.engines.node, major), `better-sqlite3 ${sqlite.version} (engines ${sqlite.engines.node}) refuses Node ${major}`);
});

test('the build tools, npm and its cache leave in the layer that brought them', () => {
  const run = installRun();
  const installed = run.indexOf('apt-get install -y --no-install-recommends python3 make g++');
  const built = run.indexOf('npm-cli.js install');
  const loaded = run.indexOf("new (require('better-sqlite3'))(':memory:').close()");
  const purged = run.indexOf('apt-get purge -y --auto-remove python3 make g++');
  assert.ok(installed >= 0 && built > installed && loaded > built && purged > loaded, 'install tools → install worker → load the binding → purge tools');
  for (const removed of ['/tmp/node ', '/tmp/npm ', '/tmp/npm-cache', '/root/.npm', '/var/lib/apt/lists/*', 'apt-get clean']) assert.match(run, removed);
  assert.match(run, 'npm_config_build_from_source=true');
});

test('the start script and the worker are where CMD and run.mjs look for them', () => {
  const all = instructions();
  const packageJson = readJson<{ name: string; bin: Record<string, string> }>('package.json');
  const bin = packageJson.bin['whatsapp-worker'];
  assert.ok(bin, 'package.json has no whatsapp-worker bin');
  const env = all.find((instruction) => instruction.keyword === 'ENV' && instruction.text.startsWith('WHATSAPP_WORKER_BIN='));
  assert.is(env?.text, `WHATSAPP_WORKER_BIN=${path.posix.join('/usr/local/lib/node_modules', packageJson.name, bin)}`);
  const cmd = all.find((instruction) => instruction.keyword === 'CMD');
  const command = JSON.parse(cmd?.text ?? 'null') as string[];
  assert.is(command[0], 'node');
  // Outside a package with "type": "module" only the .mjs ending makes Node load it as ESM.
  assert.match(command[1] ?? '', /\.mjs$/);
  assert.match(installRun(), `mv /tmp/whatsapp-worker/run.mjs ${command[1]}`);
  assert.ok(all.some((instruction) => instruction.keyword === 'ENTRYPOINT' && instruction.text === '[]'), 's6 /init is not bypassed');
});

test.run();
