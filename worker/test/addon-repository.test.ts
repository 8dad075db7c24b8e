// The files that make the repository installable: repository.yaml for the add-on store,
// hacs.json for HACS, the add-on's pictures and documentation, and the rule that only
// addon/config.yaml may carry the name the Supervisor takes for an add-on.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
// Folders that are not part of the repository's content (dependencies, build output, caches).
const NOT_CONTENT = new Set(['.git', 'node_modules', 'dist', '.venv', '__pycache__', '.pytest_cache', 'tmp']);
// The keys HACS accepts in hacs.json (its HACS_MANIFEST_JSON_SCHEMA forbids any other).
const HACS_KEYS = new Set([
  'content_in_root',
  'country',
  'filename',
  'hacs',
  'hide_default_branch',
  'homeassistant',
  'persistent_directory',
  'render_readme',
  'zip_release',
  'name',
]);
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function readText(relative: string): string {
  return readFileSync(path.join(REPO_ROOT, relative), 'utf8');
}

function addonConfig(): Record<string, unknown> & { url: string; homeassistant: string; schema: Record<string, string> } {
  return parse(readText('addon/config.yaml')) as ReturnType<typeof addonConfig>;
}

/** Every file below `folder`, as paths relative to the repository. */
function walk(folder: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(path.join(REPO_ROOT, folder), { withFileTypes: true })) {
    const relative = folder === '' ? entry.name : `${folder}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!NOT_CONTENT.has(entry.name)) found.push(...walk(relative));
    } else found.push(relative);
  }
  return found;
}

/** Width and height from the IHDR chunk, after checking the file really is a PNG. */
function pngSize(relative: string): { width: number; height: number } {
  const bytes = readFileSync(path.join(REPO_ROOT, relative));
  assert.ok(bytes.subarray(0, 8).equals(PNG_SIGNATURE), `${relative} is not a PNG`);
  assert.is(bytes.toString('latin1', 12, 16), 'IHDR', `${relative} does not start with IHDR`);
  const idat: Buffer[] = [];
  for (let offset = 8; offset < bytes.length; ) {
    const length = bytes.readUInt32BE(offset);
    if (bytes.toString('latin1', offset + 4, offset + 8) === 'IDAT') idat.push(bytes.subarray(offset + 8, offset + 8 + length));
    offset += length + 12;
  }
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  // 8-bit RGBA: one filter byte and four bytes a pixel on every row.
  assert.is(zlib.inflateSync(Buffer.concat(idat)).length, (width * 4 + 1) * height, `${relative} has truncated image data`);
  return { width, height };
}

test('no file other than addon/config.yaml is named config.yaml or config.json', () => {
  const named = walk('').filter((file) => /^config\.(ya?ml|json)$/.test(path.posix.basename(file)));
  assert.equal(named, ['addon/config.yaml']);
});

test('repository.yaml names the repository, its url and a maintainer', () => {
  const manifest = parse(readText('repository.yaml')) as Record<string, unknown>;
  assert.equal(Object.keys(manifest).sort(), ['maintainer', 'name', 'url']);
  for (const key of ['maintainer', 'name', 'url']) assert.type(manifest[key], 'string');
  assert.is(manifest.url, addonConfig().url, 'repository.yaml and addon/config.yaml point at different repositories');
  assert.match(String(manifest.url), /^https:\/\/github\.com\/[^/]+\/[^/]+$/);
});

test('hacs.json uses only keys HACS accepts, for an integration under custom_components/', () => {
  const hacs = JSON.parse(readText('hacs.json')) as Record<string, unknown>;
  for (const key of Object.keys(hacs)) assert.ok(HACS_KEYS.has(key), `HACS rejects the key '${key}'`);
  assert.type(hacs.name, 'string');
  assert.is(hacs.content_in_root, false);
  assert.is(hacs.render_readme, true);
  assert.match(String(hacs.homeassistant), /^\d{4}\.\d{1,2}\.\d+$/);
  assert.is(hacs.homeassistant, addonConfig().homeassistant, 'hacs.json and addon/config.yaml ask for different Home Assistant versions');
});

test('the integration manifest has what HACS and hassfest require, with the repository URL', () => {
  const manifest = JSON.parse(readText('custom_components/whatsapp/manifest.json')) as Record<string, unknown>;
  assert.is(manifest.domain, 'whatsapp');
  assert.type(manifest.name, 'string');
  assert.match(String(manifest.version), /^\d+\.\d+\.\d+$/);
  assert.is(manifest.version, addonConfig().version, 'the integration and the add-on are released together');
  assert.ok(Array.isArray(manifest.codeowners) && manifest.codeowners.length > 0, 'codeowners');
  const repository = String(addonConfig().url);
  assert.is(manifest.documentation, repository);
  assert.is(manifest.issue_tracker, `${repository}/issues`);
  assert.is(manifest.config_flow, true);
  assert.is(manifest.iot_class, 'local_push');
});

test('the integration brand images have Home Assistant brand sizes', () => {
  // home-assistant/brands README "Image specification": icon 256×256 (hDPI 512×512); logo with its
  // shortest side 128–256 px (hDPI 256–512). Home Assistant 2026.3+ serves them from brand/.
  assert.equal(pngSize('custom_components/whatsapp/brand/icon.png'), { width: 256, height: 256 });
  assert.equal(pngSize('custom_components/whatsapp/brand/icon@2x.png'), { width: 512, height: 512 });
  for (const [file, min, max] of [
    ['custom_components/whatsapp/brand/logo.png', 128, 256],
    ['custom_components/whatsapp/brand/logo@2x.png', 256, 512],
  ] as const) {
    const { width, height } = pngSize(file);
    const shortest = Math.min(width, height);
    assert.ok(shortest >= min && shortest <= max, `${file} is ${width}×${height}; its shortest side must be ${min}–${max} px`);
  }
});

test('the app icon is square and the logo wide, both at least the sizes the app docs recommend', () => {
  // developers.home-assistant docs/add-ons/presentation.md: icon.png 1:1 (128×128 recommended),
  // logo.png around 250×100. Here at the brand sizes, which meet both.
  const icon = pngSize('addon/icon.png');
  assert.is(icon.width, icon.height, 'addon/icon.png is not square');
  assert.ok(icon.width >= 256, `addon/icon.png is ${icon.width} px; 256 or more`);
  const logo = pngSize('addon/logo.png');
  assert.ok(logo.width > logo.height && logo.height >= 128, `addon/logo.png is ${logo.width}×${logo.height}`);
});

test('the documentation explains every option, installation, linking and the rate limits', () => {
  const docs = readText('addon/DOCS.md');
  for (const option of Object.keys(addonConfig().schema)) assert.ok(docs.includes(`\`${option}\``), `DOCS.md does not explain ${option}`);
  for (const topic of ['## Installation', '## Linking your phone', '## The integration', '## Options', 'rate-overlimit']) {
    assert.ok(docs.includes(topic), `DOCS.md lacks '${topic}'`);
  }
  assert.ok(docs.includes(addonConfig().url), 'DOCS.md does not give the repository url to add');
});

test.run();
