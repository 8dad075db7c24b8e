// The `whatsapp` integration driven through HA's REST flow API, as the integrations page does:
// the config flow that adds the entry and the options flow that picks favourites.

import type { HaRest } from './ha-rest.js';

interface FlowResult {
  type: 'form' | 'create_entry' | 'abort' | string;
  flow_id: string;
  step_id?: string;
  reason?: string;
  data_schema?: { name: string; selector?: { select?: { options: { value: string; label: string }[] } } }[];
  errors?: Record<string, string> | null;
  result?: { entry_id: string; state: string } | true;
  /** Where the dialog goes on to: a new entry whose phone is not linked yet links it (config_flow.py). */
  next_flow?: [string, string];
}

export interface Choice {
  readonly value: string;
  readonly label: string;
}

function expectType(flow: FlowResult, type: string, what: string): void {
  if (flow.type !== type) throw new Error(`${what}: expected a ${type}, got ${JSON.stringify(flow)}`);
}

/** Adds the integration (its only step is a confirmation) and returns the entry id. */
export async function addWhatsAppEntry(rest: HaRest): Promise<string> {
  const form = await rest.postJson<FlowResult>('/api/config/config_entries/flow', { handler: 'whatsapp', show_advanced_options: false });
  expectType(form, 'form', 'the whatsapp config flow');
  const created = await rest.postJson<FlowResult>(`/api/config/config_entries/flow/${form.flow_id}`, {});
  expectType(created, 'create_entry', 'confirming the whatsapp config flow');
  if (typeof created.result !== 'object' || created.result.state !== 'loaded') {
    throw new Error(`the whatsapp entry did not load: ${JSON.stringify(created.result)}`);
  }
  await closeLinkingDialog(rest, created);
  return created.result.entry_id;
}

/**
 * Closes the linking dialog a new entry goes on to (`next_flow`), as a person closing it does: the
 * suites that add the entry this way link the phone in their own time (or not at all).
 */
export async function closeLinkingDialog(rest: HaRest, created: Pick<FlowResult, 'next_flow'>): Promise<void> {
  if (created.next_flow === undefined) return;
  const [flowType, flowId] = created.next_flow;
  if (flowType !== 'options_flow') throw new Error(`a new whatsapp entry went on to a ${flowType}, not to its linking dialog`);
  const response = await rest.request('DELETE', `/api/config/config_entries/options/flow/${flowId}`);
  if (!response.ok) throw new Error(`closing the linking dialog answered HTTP ${response.status}: ${await response.text()}`);
  await response.arrayBuffer();
}

async function openOptions(rest: HaRest, entryId: string): Promise<FlowResult> {
  const form = await rest.postJson<FlowResult>('/api/config/config_entries/options/flow', { handler: entryId, show_advanced_options: false });
  expectType(form, 'form', 'the whatsapp options flow');
  return form;
}

/** What the favourites picker offers (the worker's directory), read from the options form. */
export async function favouriteChoices(rest: HaRest, entryId: string): Promise<Choice[]> {
  const form = await openOptions(rest, entryId);
  try {
    const field = form.data_schema?.find((item) => item.name === 'favourites');
    const options = field?.selector?.select?.options;
    if (options === undefined) throw new Error(`the options form has no favourites picker: ${JSON.stringify(form.data_schema)}`);
    return options;
  } finally {
    // Leave no flow half open: HA would show it as in progress.
    await rest.request('DELETE', `/api/config/config_entries/options/flow/${form.flow_id}`);
  }
}

/** Saves exactly `jids` as the favourites through the options flow. */
export async function setFavourites(rest: HaRest, entryId: string, jids: readonly string[]): Promise<void> {
  const form = await openOptions(rest, entryId);
  const done = await rest.postJson<FlowResult>(`/api/config/config_entries/options/flow/${form.flow_id}`, { favourites: jids });
  expectType(done, 'create_entry', `saving favourites ${jids.join(', ')}`);
}
