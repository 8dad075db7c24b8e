// The integration's English strings, read from translations/integration/en.json, so the tests compare HA's
// answers with what the user is meant to see rather than with copies of the text.

import { readFileSync } from 'node:fs';
import { INTEGRATION_TRANSLATIONS } from './paths.js';

interface Translations {
  exceptions: Record<string, { message: string }>;
  services: Record<string, { name: string; description: string; fields: Record<string, { name: string; description: string }> }>;
}

export function integrationTranslations(): Translations {
  return JSON.parse(readFileSync(INTEGRATION_TRANSLATIONS, 'utf8')) as Translations;
}

/** The exception message for `key` with its placeholders filled in, as HA renders it. */
export function exceptionMessage(key: string, placeholders: Record<string, string> = {}): string {
  const template = integrationTranslations().exceptions[key]?.message;
  if (template === undefined) throw new Error(`translations/integration/en.json has no exceptions.${key}.message`);
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => placeholders[name] ?? whole);
}
