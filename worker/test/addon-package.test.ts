// The root package is what the app image installs from the npm registry
// (`whatsapp-avatars-worker@<version>`): publishable, holding the compiled worker and its bin, with
// a licence file, and nothing a user's machine would need the dev dependencies for.
// scripts/test-image.sh installs an `npm pack` of it on a clean prefix and in the image.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface PackageJson {
  name: string;
  private?: boolean;
  license: string;
  author: string;
  bin: Record<string, string>;
  files: string[];
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as PackageJson;

test('the package can be published under its own name', () => {
  assert.is(manifest.private, undefined, 'a private package cannot be published');
  assert.match(manifest.name, /^[a-z0-9][a-z0-9-]*$/);
  assert.is(manifest.license, 'MIT');
});

test('the tarball holds the compiled worker, the bin and the licence; the bin imports only packed files', () => {
  const bin = manifest.bin['whatsapp-worker'];
  assert.ok(bin, 'no whatsapp-worker bin');
  assert.ok(existsSync(path.join(REPO_ROOT, bin)));
  assert.ok(manifest.files.some((entry) => bin.startsWith(entry.replace(/\/$/, ''))), `${bin} is not in files`);
  assert.ok(manifest.files.some((entry) => entry.startsWith('dist/worker/src')), 'the compiled worker is not in files');
  assert.ok(manifest.files.includes('LICENSE'));
  // npm 9+ ships the shrinkwrap of a package with `files` only when listed (npm/cli issue #6803).
  assert.ok(manifest.files.includes('npm-shrinkwrap.json'), 'the shrinkwrap made at prepack would not be published');
  assert.match(readFileSync(path.join(REPO_ROOT, bin), 'utf8'), "from '../../dist/worker/src/cli/main.js'");
  assert.match(manifest.scripts.prepack ?? '', /tsc -p tsconfig\.json/);
  assert.match(manifest.scripts.prepack ?? '', /pack-shrinkwrap\.mjs write/);
  assert.match(manifest.scripts.postpack ?? '', /pack-shrinkwrap\.mjs remove/);
});

/** Every .js file below a folder of the repository. */
function javascriptFiles(relative: string): string[] {
  return readdirSync(path.join(REPO_ROOT, relative), { withFileTypes: true }).flatMap((entry) => {
    const child = `${relative}/${entry.name}`;
    if (entry.isDirectory()) return javascriptFiles(child);
    return entry.name.endsWith('.js') ? [child] : [];
  });
}

test('the compiled worker imports only Node built-ins, its own files and production dependencies', () => {
  const files = javascriptFiles('dist/worker/src');
  assert.ok(files.length > 10, 'dist/worker/src is not built');
  for (const file of files) {
    const source = readFileSync(path.join(REPO_ROOT, file), 'utf8');
    for (const match of source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const specifier = match[1] ?? match[2] ?? '';
      if (specifier.startsWith('.') || specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
      const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? '');
      assert.ok(Object.hasOwn(manifest.dependencies, name), `${file} imports ${specifier}, which is not a production dependency`);
    }
  }
});

test('LICENSE is the MIT licence with the holder package.json names', () => {
  const license = readFileSync(path.join(REPO_ROOT, 'LICENSE'), 'utf8');
  assert.match(license, /^MIT License$/m);
  assert.match(license, new RegExp(`^Copyright \\(c\\) \\d{4} ${manifest.author}$`, 'm'));
  assert.match(license, 'THE SOFTWARE IS PROVIDED "AS IS"');
});

test('npm test runs the image test', () => {
  assert.match(manifest.scripts.test ?? '', /npm run test:image/);
  assert.is(manifest.scripts['test:image'], 'bash scripts/test-image.sh');
});

test.run();
