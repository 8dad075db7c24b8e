// The add-on manifest: valid for the add-on linter's schema, and in step with the package, the
// repository files, the translations and the changelog.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
// CI clones the repository with shared/ beside it.
const SCHEMA_PATH = path.resolve(REPO_ROOT, '../shared/schemas/addon-config.schema.json');

type AddonConfig = Record<string, unknown> & {
  version: string;
  url: string;
  options: Record<string, unknown>;
  schema: Record<string, string>;
};

function readConfig(): AddonConfig {
  return parse(readFileSync(path.join(REPO_ROOT, 'addon/config.yaml'), 'utf8')) as AddonConfig;
}

/**
 * The linter's schema is written for Python: `services` uses `(?P<name>…)` groups. JavaScript
 * spells them `(?<name>…)`; the translation keeps the schema itself untouched.
 */
const pythonRegExp = Object.assign((pattern: string, flags: string) => new RegExp(pattern.replaceAll('(?P<', '(?<'), flags), {
  code: 'pythonRegExp',
});

function compileSchema() {
  const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object;
  // strict: false because the third-party schema has `pattern` without `type` (machine); the
  // two formats it uses are defined here rather than pulling in ajv-formats.
  const ajv = new Ajv({ allErrors: true, strict: false, code: { regExp: pythonRegExp } });
  ajv.addFormat('email', /^[^\s@]+@[^\s@]+\.[^\s@]+$/);
  ajv.addFormat('uri-reference', (value: string) => !/\s/.test(value) && URL.canParse(value, 'https://example.invalid/'));
  return ajv.compile(schema);
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((error) => `${error.instancePath || '(root)'} ${error.message ?? ''}`).join('; ');
}

test('addon/config.yaml is valid for the add-on linter schema', () => {
  const validate = compileSchema();
  const valid = validate(readConfig());
  assert.ok(valid, describeErrors(validate.errors));
});

test('the schema check rejects a broken manifest (the validator is live)', () => {
  const validate = compileSchema();
  const broken = { ...readConfig(), arch: ['x86'], map: ['everything:rw'], unknown_key: true };
  assert.not.ok(validate(broken));
  const complaints = describeErrors(validate.errors);
  assert.match(complaints, '/arch/0');
  assert.match(complaints, 'additional properties');
});

test('identity: slug, version equal to package.json, both architectures', () => {
  const config = readConfig();
  const packageJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.is(config.slug, 'whatsapp_avatars');
  assert.is(config.version, packageJson.version);
  assert.equal(config.arch, ['aarch64', 'amd64']);
});

test('reaches Home Assistant, offers the integration, maps only /share', () => {
  const config = readConfig();
  assert.is(config.homeassistant_api, true);
  assert.equal(config.discovery, ['whatsapp']);
  assert.equal(config.map, ['share:rw']);
  // Docker's init runs the single worker process (see the Dockerfile's ENTRYPOINT).
  assert.is(config.init, undefined);
  assert.is(config.hassio_api, undefined, 'discovery needs no Supervisor API role');
});

test('every option has a schema entry, and every required one a default', () => {
  const { options, schema } = readConfig();
  for (const key of Object.keys(options)) assert.ok(key in schema, `option ${key} has no schema entry`);
  for (const [key, type] of Object.entries(schema)) {
    if (!type.endsWith('?')) assert.ok(key in options, `required option ${key} has no default`);
  }
  assert.equal(Object.keys(schema).sort(), ['avatars_folder', 'hourly_cap', 'interval', 'log_format', 'log_level', 'phone_number', 'picture_size']);
});

test('option types follow the rate policy (interval never below 2 s)', () => {
  const { options, schema } = readConfig();
  assert.is(schema.interval, 'float(2,)');
  assert.is(options.interval, 3);
  assert.is(schema.hourly_cap, 'int(1,)');
  assert.is(options.hourly_cap, 900);
  assert.is(schema.picture_size, 'list(image|preview)');
  assert.is(schema.log_level, 'list(trace|debug|info|warning|error)');
  assert.is(schema.log_format, 'list(pretty|json)');
  assert.is(options.log_format, 'pretty', "the app's log is read by a person");
});

test('the phone number pattern accepts E.164 numbers and refuses the rest', () => {
  const { schema } = readConfig();
  const match = /^match\((.*)\)\?$/.exec(schema.phone_number ?? '');
  assert.ok(match, `phone_number should be an optional match(...), is ${schema.phone_number}`);
  const pattern = new RegExp(match[1] ?? '');
  for (const good of ['+491701234567', '491701234567', '+12025550123']) assert.ok(pattern.test(good), good);
  for (const bad of ['+0491701234567', '0170 1234567', '+49-170-1234567', '12345', '+1234567890123456']) {
    assert.not.ok(pattern.test(bad), bad);
  }
});

test('the avatars folder pattern allows /data and /share folders only', () => {
  const { schema, options } = readConfig();
  const match = /^match\((.*)\)$/.exec(schema.avatars_folder ?? '');
  assert.ok(match, `avatars_folder should be a match(...), is ${schema.avatars_folder}`);
  const pattern = new RegExp(match[1] ?? '');
  assert.ok(pattern.test(String(options.avatars_folder)));
  for (const good of ['/data/media/avatars', '/share/whatsapp/avatars', '/share']) assert.ok(pattern.test(good), good);
  for (const bad of ['/config/avatars', 'data/avatars', '/share/my avatars', '/datax/avatars']) assert.not.ok(pattern.test(bad), bad);
});

test('the changelog has a section for this version', () => {
  const { version } = readConfig();
  const changelog = readFileSync(path.join(REPO_ROOT, 'addon/CHANGELOG.md'), 'utf8');
  assert.ok(changelog.split('\n').includes(`## ${version}`), `addon/CHANGELOG.md has no '## ${version}'`);
});

test.run();
