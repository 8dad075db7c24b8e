// Where things are, from the compiled file's location (dist/e2e/support/paths.js).

import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
export const WORKER_BIN = join(REPO_ROOT, 'worker', 'bin', 'whatsapp-worker.js');
export const ADDON_RUN_SCRIPT = join(REPO_ROOT, 'addon', 'run.mjs');
// The source of the integration's strings; HA reads the copy in custom_components/whatsapp/translations/,
// so comparing HA's answers with the source also proves the copy is in sync.
export const INTEGRATION_TRANSLATIONS = join(REPO_ROOT, 'translations', 'integration', 'en.json');
export const DOCS_DIR = join(REPO_ROOT, 'docs');
export const INTEGRATION_DIR = join(REPO_ROOT, 'custom_components', 'whatsapp');
