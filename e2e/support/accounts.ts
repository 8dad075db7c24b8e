// Several accounts (custom_components/whatsapp/accounts.py): a worker with an id no entry has is
// offered as a discovered integration; the user adds it as a new account or as the new worker of
// an account whose worker is away.

import type { HaRest } from './ha-rest.js';
import type { HaWebSocket } from './ha-websocket.js';
import { closeLinkingDialog } from './integration.js';
import { waitFor } from './wait.js';

export interface DiscoveryFlow {
  flow_id: string;
  handler: string;
  step_id: string;
  context: { source: string; unique_id?: string };
}

export interface FlowResult {
  type: string;
  reason?: string;
  result?: { entry_id: string; state: string; title: string };
  next_flow?: [string, string];
}

/** Waits until HA offers a newly connected worker (an `integration_discovery` flow of whatsapp). */
export async function waitForWorkerOffer(ws: HaWebSocket, timeoutMs: number): Promise<DiscoveryFlow> {
  return waitFor(
    'Home Assistant to offer the new worker',
    async () => {
      const flows = await ws.command<DiscoveryFlow[]>({ type: 'config_entries/flow/progress' });
      const found = flows.find((flow) => flow.handler === 'whatsapp' && flow.context.source === 'integration_discovery');
      if (found === undefined) throw new Error(`flows in progress: ${JSON.stringify(flows)}`);
      return found;
    },
    { timeoutMs },
  );
}

/** Answers the offer: `account` is `new` or the entry id whose worker the new one replaces. */
export async function answerWorkerOffer(rest: HaRest, offer: DiscoveryFlow, account?: string): Promise<FlowResult> {
  const answered = await rest.postJson<FlowResult>(`/api/config/config_entries/flow/${offer.flow_id}`, account === undefined ? {} : { account });
  await closeLinkingDialog(rest, answered);
  return answered;
}
