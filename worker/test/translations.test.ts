// The user-facing strings: the add-on's options all have English (and German) text, and the
// copies Home Assistant reads equal their sources in translations/ — checked by the same script
// CI runs, which is itself shown to catch a drifted, missing or orphaned copy.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SYNC_SCRIPT = path.join(REPO_ROOT, 'scripts/sync-translations.mjs');
const ADDON_LANGUAGES = ['en', 'de'];

type AddonStrings = { configuration: Record<string, { name?: unknown; description?: unknown }> };

function sync(args: string[]) {
  const result = spawnSync(process.execPath, [SYNC_SCRIPT, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function withTempRepo<T>(body: (root: string) => T): T {
  const root = mkdtempSync(path.join(os.tmpdir(), 'translations-'));
  try {
    return body(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** A repository with one add-on source and, optionally, its copy. */
function seed(root: string, source: string, copy: string | undefined): void {
  mkdirSync(path.join(root, 'translations/addon'), { recursive: true });
  mkdirSync(path.join(root, 'addon/translations'), { recursive: true });
  writeFileSync(path.join(root, 'translations/addon/en.yaml'), source);
  if (copy !== undefined) writeFileSync(path.join(root, 'addon/translations/en.yaml'), copy);
}

function addonOptions(): string[] {
  const config = parse(readFileSync(path.join(REPO_ROOT, 'addon/config.yaml'), 'utf8')) as { schema: Record<string, string> };
  return Object.keys(config.schema);
}

test('every add-on option has a name and a description in each language', () => {
  for (const language of ADDON_LANGUAGES) {
    const strings = parse(readFileSync(path.join(REPO_ROOT, `translations/addon/${language}.yaml`), 'utf8')) as AddonStrings;
    for (const option of addonOptions()) {
      const text = strings.configuration[option];
      assert.ok(text, `translations/addon/${language}.yaml has no text for option ${option}`);
      assert.type(text.name, 'string', `${language}: ${option} has no name`);
      assert.type(text.description, 'string', `${language}: ${option} has no description`);
    }
    // No text for an option that does not exist (left over after a rename).
    assert.equal(Object.keys(strings.configuration).sort(), addonOptions().sort(), `${language}: options and texts differ`);
  }
});

test('the integration has English strings as a source', () => {
  assert.ok(existsSync(path.join(REPO_ROOT, 'translations/integration/en.json')), 'translations/integration/en.json is missing');
  const strings = JSON.parse(readFileSync(path.join(REPO_ROOT, 'translations/integration/en.json'), 'utf8')) as unknown;
  assert.type(strings, 'object');
});

test('every copy in the repository equals its source (sync-translations --check)', () => {
  const result = sync(['--check']);
  assert.is(result.status, 0, result.stderr);
  assert.match(result.stdout, 'every translation copy equals its source');
});

test('the check fails naming a copy that drifted from its source', () => {
  withTempRepo((root) => {
    seed(root, 'configuration: {}\n', 'configuration: {interval: {name: old}}\n');
    const result = sync(['--check', '--root', root]);
    assert.is(result.status, 1);
    assert.match(result.stderr, 'addon/translations/en.yaml differs from its source translations/addon/en.yaml');
  });
});

test('the check fails naming a missing copy and a copy without a source', () => {
  withTempRepo((root) => {
    seed(root, 'configuration: {}\n', undefined);
    mkdirSync(path.join(root, 'custom_components/whatsapp/translations'), { recursive: true });
    writeFileSync(path.join(root, 'custom_components/whatsapp/translations/fr.json'), '{}');
    const result = sync(['--check', '--root', root]);
    assert.is(result.status, 1);
    assert.match(result.stderr, 'addon/translations/en.yaml is missing');
    assert.match(result.stderr, 'custom_components/whatsapp/translations/fr.json has no source');
  });
});

test('syncing writes every copy from its source, removes orphans, and then the check passes', () => {
  withTempRepo((root) => {
    const source = 'configuration:\n  interval:\n    name: Seconds between picture queries\n';
    seed(root, source, 'stale\n');
    mkdirSync(path.join(root, 'translations/integration'), { recursive: true });
    writeFileSync(path.join(root, 'translations/integration/en.json'), '{"title": "WhatsApp"}\n');
    mkdirSync(path.join(root, 'addon/translations'), { recursive: true });
    writeFileSync(path.join(root, 'addon/translations/fr.yaml'), 'configuration: {}\n');

    const written = sync(['--root', root]);
    assert.is(written.status, 0, written.stderr);
    assert.is(readFileSync(path.join(root, 'addon/translations/en.yaml'), 'utf8'), source);
    // The integration's copy folder did not exist yet: the sync creates it.
    assert.is(readFileSync(path.join(root, 'custom_components/whatsapp/translations/en.json'), 'utf8'), '{"title": "WhatsApp"}\n');
    assert.not.ok(existsSync(path.join(root, 'addon/translations/fr.yaml')));
    // No temp file left behind by the atomic writes.
    assert.equal(readdirSync(path.join(root, 'addon/translations')), ['en.yaml']);
    assert.is(sync(['--check', '--root', root]).status, 0);
  });
});

test('the real repository passes the same check in a copy (the check reads the files, not a cache)', () => {
  withTempRepo((root) => {
    for (const folder of ['translations', 'addon/translations', 'custom_components/whatsapp/translations']) {
      if (existsSync(path.join(REPO_ROOT, folder))) cpSync(path.join(REPO_ROOT, folder), path.join(root, folder), { recursive: true });
    }
    assert.is(sync(['--check', '--root', root]).status, 0);
    const copy = path.join(root, 'addon/translations/de.yaml');
    writeFileSync(copy, `${readFileSync(copy, 'utf8')}# edited by hand\n`);
    const result = sync(['--check', '--root', root]);
    assert.is(result.status, 1);
    assert.match(result.stderr, 'addon/translations/de.yaml differs');
  });
});

test('an unknown argument is refused', () => {
  const result = sync(['--fix']);
  assert.is(result.status, 2);
  assert.match(result.stderr, "unknown argument '--fix'");
});

test.run();
