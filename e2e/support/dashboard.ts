// The Lovelace dashboard of docs/dashboard.md, taken from the document itself so the example that
// users copy is the one the suite proves: its `image.` entities are swapped for the test's
// favourites, in order of first appearance; every other entity must exist as written.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DOCS_DIR } from './paths.js';

export const DASHBOARD_DOC = join(DOCS_DIR, 'dashboard.md');
export const DASHBOARD_SCREENSHOT = join(DOCS_DIR, 'dashboard.png');

export interface DashboardExample {
  readonly config: Record<string, unknown>;
  /** The example's own image entities, in order of first appearance. */
  readonly exampleImages: string[];
}

/** The first ```yaml block of docs/dashboard.md. */
export function dashboardExample(): DashboardExample {
  const text = readFileSync(DASHBOARD_DOC, 'utf8');
  const block = /```yaml\n([\s\S]*?)```/.exec(text)?.[1];
  if (block === undefined) throw new Error(`${DASHBOARD_DOC} has no \`\`\`yaml block`);
  const config = parse(block) as Record<string, unknown>;
  const exampleImages = [...new Set(entitiesIn(config).filter((entity) => entity.startsWith('image.')))];
  return { config, exampleImages };
}

/** Every `entity:` value and every string in an `entities:` list, anywhere in the config. */
export function entitiesIn(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(entitiesIn);
  if (typeof node !== 'object' || node === null) return [];
  const found: string[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === 'entity' && typeof value === 'string') found.push(value);
    else if (key === 'entities' && Array.isArray(value)) {
      for (const item of value) {
        if (typeof item === 'string') found.push(item);
        else found.push(...entitiesIn(item));
      }
    } else found.push(...entitiesIn(value));
  }
  return found;
}

/** A deep copy of `node` with entity ids replaced through `map`. */
export function replaceEntities<T>(node: T, map: ReadonlyMap<string, string>): T {
  if (typeof node === 'string') return (map.get(node) ?? node) as T;
  if (Array.isArray(node)) return node.map((item: unknown) => replaceEntities(item, map)) as T;
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, replaceEntities(value, map)])) as T;
}
