#!/usr/bin/env node
// Keeps the copies of the user-facing strings equal to their sources. Home Assistant reads the
// strings from fixed places inside the integration and the add-on; the top-level translations/
// folder is the one place people edit.
//
//   translations/integration/<lang>.json  →  custom_components/whatsapp/translations/<lang>.json
//   translations/addon/<lang>.yaml        →  addon/translations/<lang>.yaml
//
// Usage: node scripts/sync-translations.mjs [--check] [--root DIR]
//   (no flag)  writes every copy that differs (atomically) and removes copies without a source
//   --check    changes nothing; exits 1 naming each copy that is missing, differs, or has no source
//   --root     the repository to work on (default: the one this script is in; tests use a temp copy)

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

/** Each source folder, the folder its copies go to, and the file ending both use. */
const PAIRS = [
  { source: 'translations/integration', copy: 'custom_components/whatsapp/translations', extension: '.json' },
  { source: 'translations/addon', copy: 'addon/translations', extension: '.yaml' },
];

/** @param {string} folder @param {string} extension */
function filesIn(folder, extension) {
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(extension))
    .map((entry) => entry.name)
    .sort();
}

/**
 * Compares every source with its copy.
 * @param {string} root
 * @returns {{ problem: 'missing' | 'differs' | 'orphan', copy: string, source: string }[]}
 */
function findDrift(root) {
  const drift = [];
  for (const pair of PAIRS) {
    const sourceDir = path.join(root, pair.source);
    const copyDir = path.join(root, pair.copy);
    const sources = filesIn(sourceDir, pair.extension);
    for (const name of sources) {
      const source = path.join(pair.source, name);
      const copy = path.join(pair.copy, name);
      const copyPath = path.join(root, copy);
      if (!existsSync(copyPath)) drift.push({ problem: 'missing', copy, source });
      else if (!readFileSync(copyPath).equals(readFileSync(path.join(root, source)))) drift.push({ problem: 'differs', copy, source });
    }
    for (const name of filesIn(copyDir, pair.extension)) {
      if (!sources.includes(name)) drift.push({ problem: 'orphan', copy: path.join(pair.copy, name), source: path.join(pair.source, name) });
    }
  }
  return drift;
}

/**
 * Writes next to the target and renames over it, so a crash never leaves half a file.
 * @param {string} target @param {Buffer} bytes
 */
function writeAtomically(target, bytes) {
  const temporary = `${target}.${process.pid}.tmp`;
  writeFileSync(temporary, bytes);
  renameSync(temporary, target);
}

/** @param {string[]} argv */
function parseArguments(argv) {
  let check = false;
  let root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (argument === '--check') check = true;
    else if (argument === '--root') {
      const value = argv[++index];
      if (value === undefined) throw new Error('--root needs a folder');
      root = path.resolve(value);
    } else throw new Error(`unknown argument '${argument}'; usage: sync-translations.mjs [--check] [--root DIR]`);
  }
  if (!existsSync(root)) throw new Error(`--root ${root} does not exist`);
  return { check, root };
}

function main() {
  let options;
  try {
    options = parseArguments(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`sync-translations: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  const drift = findDrift(options.root);

  if (options.check) {
    if (drift.length === 0) {
      process.stdout.write('sync-translations: every translation copy equals its source\n');
      return 0;
    }
    for (const { problem, copy, source } of drift) {
      const what = {
        missing: `${copy} is missing (source ${source})`,
        differs: `${copy} differs from its source ${source}`,
        orphan: `${copy} has no source (expected ${source})`,
      }[problem];
      process.stderr.write(`sync-translations: ${what}\n`);
    }
    process.stderr.write('sync-translations: run `node scripts/sync-translations.mjs` and commit the copies\n');
    return 1;
  }

  for (const { problem, copy, source } of drift) {
    const copyPath = path.join(options.root, copy);
    if (problem === 'orphan') {
      rmSync(copyPath);
      process.stdout.write(`sync-translations: removed ${copy} (no source)\n`);
    } else {
      // The copy folder may not exist yet in a fresh component.
      mkdirSync(path.dirname(copyPath), { recursive: true });
      writeAtomically(copyPath, readFileSync(path.join(options.root, source)));
      process.stdout.write(`sync-translations: wrote ${copy} from ${source}\n`);
    }
  }
  if (drift.length === 0) process.stdout.write('sync-translations: nothing to do\n');
  return 0;
}

process.exitCode = main();
