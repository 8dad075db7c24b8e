// Turns one service call from Home Assistant into the worker's answer. Every failure becomes a
// `call_result` with a stable code, so HA always gets an answer and shows a translated error.

import type { Logger } from 'pino';
import { CallError, type WorkerPort } from './port.js';
import type { CallResult, DownstreamMessage } from './protocol.js';

type CallMessage = Extract<DownstreamMessage, { type: 'call' }>;

export async function answerCall(port: WorkerPort, call: CallMessage, logger: Logger): Promise<CallResult> {
  try {
    const response = call.service === 'refresh_avatar' ? await port.refreshAvatar(call.data) : await port.refreshAvatars(call.data);
    return { call_id: call.call_id, ok: true, response };
  } catch (error) {
    if (error instanceof CallError) {
      logger.info({ callId: call.call_id, service: call.service, code: error.code }, `service call refused: ${error.message}`);
      return { call_id: call.call_id, ok: false, error: { code: error.code, message: error.message } };
    }
    logger.error({ err: error, callId: call.call_id, service: call.service }, 'service call failed inside the worker');
    return {
      call_id: call.call_id,
      ok: false,
      error: { code: 'internal_error', message: `the worker failed to handle ${call.service}: ${describe(error)}` },
    };
  }
}

/** The answer to a call whose message was malformed (a version skew between worker and integration). */
export function malformedCallResult(callId: string, reason: string, badJid: boolean): CallResult {
  return { call_id: callId, ok: false, error: { code: badJid ? 'invalid_jid' : 'internal_error', message: reason } };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
