// Where things are, from the compiled file's location (dist/e2e/support/paths.js).

import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
export const WORKER_BIN = join(REPO_ROOT, 'worker', 'bin', 'whatsapp-worker.js');
export const ADDON_RUN_SCRIPT = join(REPO_ROOT, 'addon', 'run.mjs');
export const INTEGRATION_TRANSLATIONS = join(REPO_ROOT, 'custom_components', 'whatsapp', 'translations', 'en.json');
export const DOCS_DIR = join(REPO_ROOT, 'docs');
