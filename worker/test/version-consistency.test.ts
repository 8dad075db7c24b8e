// A release has one version, set in package.json. The integration's manifest, the app's
// config.yaml (the Supervisor builds the image for it and installs the worker package at it) and
// the version the worker sends in its handshake must all say the same.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { WORKER_VERSION } from '../src/cli/compose.js';
import { packageVersion } from '../src/package-version.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function readText(relative: string): string {
  return readFileSync(path.join(REPO_ROOT, relative), 'utf8');
}

const VERSION = (JSON.parse(readText('package.json')) as { version: string }).version;

test('package.json carries a semantic version', () => {
  assert.match(VERSION, /^\d+\.\d+\.\d+$/);
});

test('the integration manifest has the package version', () => {
  assert.is((JSON.parse(readText('custom_components/whatsapp/manifest.json')) as { version: string }).version, VERSION);
});

test('the app config.yaml and the Dockerfile default have the package version', () => {
  assert.is((parse(readText('addon/config.yaml')) as { version: string }).version, VERSION);
  assert.match(readText('addon/Dockerfile'), new RegExp(`^ARG BUILD_VERSION=${VERSION.replaceAll('.', '\\.')}$`, 'm'));
});

test('the worker handshake sends the package version, read from package.json', () => {
  assert.is(packageVersion(), VERSION);
  assert.is(WORKER_VERSION, VERSION);
});

test('the lock file is for this package and version (the published shrinkwrap is made from it)', () => {
  const lock = JSON.parse(readText('package-lock.json')) as { name: string; version: string; packages: Record<string, { version?: string }> };
  const name = (JSON.parse(readText('package.json')) as { name: string }).name;
  assert.is(lock.name, name);
  assert.is(lock.version, VERSION);
  assert.is(lock.packages['']?.version, VERSION);
});

test('the app changelog has an entry for the version', () => {
  assert.match(readText('addon/CHANGELOG.md'), new RegExp(`^## ${VERSION.replaceAll('.', '\\.')}$`, 'm'));
});

test.run();
