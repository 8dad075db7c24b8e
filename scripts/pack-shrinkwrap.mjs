#!/usr/bin/env node
// npm's prepack/postpack step: the published package carries the lock file's dependency tree as
// npm-shrinkwrap.json, so `npm install whatsapp-avatars-worker` (the app image does that) gets the
// exact versions the tests ran, down to transitive dependencies. npm's docs recommend a
// shrinkwrap for packages deployed by installing them from the registry, such as daemons and
// command-line tools (docs.npmjs.com, "npm-shrinkwrap.json"). package-lock.json itself is never
// published, and the repository keeps only the lock file: the shrinkwrap exists only while
// `npm pack`/`npm publish` run. Since npm 9 a package with `files` ships it only when `files` lists
// it (npm/cli issue #6803), hence the entry in package.json; npm-packlist PR #281 (April 2026)
// stops shipping it by default in the next major, so scripts/test-image.sh checks the tarball.
//
// Usage: node scripts/pack-shrinkwrap.mjs write|remove

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shrinkwrap = path.join(root, 'npm-shrinkwrap.json');
const action = process.argv[2];

if (action === 'write') {
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  if (lock.name !== manifest.name || lock.version !== manifest.version) {
    console.error(`package-lock.json is for ${lock.name}@${lock.version}, package.json is ${manifest.name}@${manifest.version}: run npm install first`);
    process.exit(1);
  }
  writeFileSync(`${shrinkwrap}.tmp`, `${JSON.stringify(lock, null, 2)}\n`);
  renameSync(`${shrinkwrap}.tmp`, shrinkwrap);
} else if (action === 'remove') {
  rmSync(shrinkwrap, { force: true });
} else {
  console.error(`usage: node scripts/pack-shrinkwrap.mjs write|remove (got ${JSON.stringify(action)})`);
  process.exit(2);
}
