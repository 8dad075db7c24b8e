// Turns one service call from Home Assistant into the worker's answer. Every failure becomes a
// `call_result` with a stable code, so HA always gets an answer and shows a translated error.

import type { Logger } from 'pino';
import { CallError, type WorkerPort } from './port.js';
import { MAX_CALL_ERROR_MESSAGE_LENGTH, type CallErrorCode, type CallResult, type DownstreamMessage } from './protocol.js';

type CallMessage = Extract<DownstreamMessage, { type: 'call' }>;
type CallResponse = Extract<CallResult, { ok: true }>['response'];

export async function answerCall(port: WorkerPort, call: CallMessage, logger: Logger): Promise<CallResult> {
  try {
    return { call_id: call.call_id, ok: true, response: await respond(port, call) };
  } catch (error) {
    if (error instanceof CallError) {
      logger.info({ callId: call.call_id, service: call.service, code: error.code }, `service call refused: ${error.message}`);
      return failed(call.call_id, error.code, error.message);
    }
    logger.error({ err: error, callId: call.call_id, service: call.service }, 'service call failed inside the worker');
    return failed(call.call_id, 'internal_error', `the worker failed to handle ${call.service}: ${describe(error)}`);
  }
}

function respond(port: WorkerPort, call: CallMessage): Promise<CallResponse> {
  switch (call.service) {
    case 'refresh_avatar':
      return port.refreshAvatar(call.data);
    case 'refresh_avatars':
      return port.refreshAvatars(call.data);
    case 'picture':
      return port.picture(call.data);
    case 'purge_avatars':
      return port.purgeAvatars();
    case 'pairing_code':
      return port.pairingCode(call.data);
  }
}

/** The answer to a call whose message was malformed (a version skew between worker and integration). */
export function malformedCallResult(callId: string, reason: string, badJid: boolean): CallResult {
  return failed(callId, badJid ? 'invalid_jid' : 'internal_error', reason);
}

/** A failed result, its message cut to what HA accepts (protocol.json `max_call_error_message_length`). */
function failed(callId: string, code: CallErrorCode, message: string): CallResult {
  const cut = message.length > MAX_CALL_ERROR_MESSAGE_LENGTH ? `${message.slice(0, MAX_CALL_ERROR_MESSAGE_LENGTH - 1)}…` : message;
  return { call_id: callId, ok: false, error: { code, message: cut } };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
