// Validates what Home Assistant sends down the subscription. The integration validates too, but
// a version skew between the two must give a clear message, not a crash deep in the worker.

import {
  CALL_DEFAULTS,
  MAX_WAIT_SECONDS,
  REFRESH_SCOPES,
  type DownstreamMessage,
  type RefreshAvatarCall,
  type RefreshAvatarsCall,
  type RefreshScope,
} from './protocol.js';

export type ParsedDownstream =
  | { readonly ok: true; readonly message: DownstreamMessage }
  /** `callId` is set when the message was a call, so the bridge can still answer it. */
  | { readonly ok: false; readonly reason: string; readonly callId?: string; readonly badJid?: boolean };

export function parseDownstream(input: unknown): ParsedDownstream {
  if (!isRecord(input)) return { ok: false, reason: `expected an object, got ${describeType(input)}` };
  if (input.type === 'favourites') {
    if (!Array.isArray(input.jids)) return { ok: false, reason: `favourites: 'jids' must be a list, got ${describeType(input.jids)}` };
    const notString = input.jids.find((jid) => typeof jid !== 'string');
    if (notString !== undefined) return { ok: false, reason: `favourites: every JID must be a string, got ${describeType(notString)}` };
    return { ok: true, message: { type: 'favourites', jids: input.jids as string[] } };
  }
  if (input.type === 'resend') return { ok: true, message: { type: 'resend' } };
  if (input.type === 'call') return parseCall(input);
  return { ok: false, reason: `unknown message type ${JSON.stringify(input.type)}` };
}

function parseCall(input: Record<string, unknown>): ParsedDownstream {
  const callId = input.call_id;
  if (typeof callId !== 'string' || callId === '') {
    return { ok: false, reason: `call: 'call_id' must be a non-empty string, got ${describeType(callId)}` };
  }
  const data = input.data ?? {};
  if (!isRecord(data)) return { ok: false, callId, reason: `call ${callId}: 'data' must be an object, got ${describeType(data)}` };
  const service = input.service;
  if (service === 'picture') {
    if (typeof data.jid !== 'string') {
      return { ok: false, callId, badJid: true, reason: `call ${callId}: 'jid' must be a string, got ${describeType(data.jid)}` };
    }
    return { ok: true, message: { type: 'call', call_id: callId, service: 'picture', data: { jid: data.jid } } };
  }
  if (service === 'pairing_code') {
    if (typeof data.phone_number !== 'string') {
      return { ok: false, callId, reason: `call ${callId}: 'phone_number' must be a string, got ${describeType(data.phone_number)}` };
    }
    return { ok: true, message: { type: 'call', call_id: callId, service: 'pairing_code', data: { phone_number: data.phone_number } } };
  }
  if (service === 'purge_avatars') return { ok: true, message: { type: 'call', call_id: callId, service: 'purge_avatars', data: {} } };
  if (service !== 'refresh_avatar' && service !== 'refresh_avatars') {
    return {
      ok: false,
      callId,
      reason: `call ${callId}: unknown service ${JSON.stringify(service)}; expected refresh_avatar, refresh_avatars, picture, purge_avatars or pairing_code`,
    };
  }
  const force = data.force ?? CALL_DEFAULTS[service].force;
  if (typeof force !== 'boolean') return { ok: false, callId, reason: `call ${callId}: 'force' must be true or false, got ${describeType(force)}` };
  if (service === 'refresh_avatar') {
    if (typeof data.jid !== 'string') {
      return { ok: false, callId, badJid: true, reason: `call ${callId}: 'jid' must be a string, got ${describeType(data.jid)}` };
    }
    const wait = data.wait ?? CALL_DEFAULTS.refresh_avatar.wait;
    if (typeof wait !== 'number' || !Number.isFinite(wait) || wait < 0 || wait > MAX_WAIT_SECONDS) {
      return {
        ok: false,
        callId,
        reason: `call ${callId}: 'wait' must be a number of seconds from 0 to ${MAX_WAIT_SECONDS}, got ${JSON.stringify(wait) ?? 'nothing'}`,
      };
    }
    const call: RefreshAvatarCall = { jid: data.jid, force, wait };
    return { ok: true, message: { type: 'call', call_id: callId, service: 'refresh_avatar', data: call } };
  }
  const scope = data.scope ?? CALL_DEFAULTS.refresh_avatars.scope;
  if (!REFRESH_SCOPES.includes(scope as RefreshScope)) {
    return { ok: false, callId, reason: `call ${callId}: 'scope' must be one of ${REFRESH_SCOPES.join(', ')}, got ${JSON.stringify(scope)}` };
  }
  const call: RefreshAvatarsCall = { scope: scope as RefreshScope, force };
  return { ok: true, message: { type: 'call', call_id: callId, service: 'refresh_avatars', data: call } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'string' ? `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}` : `a ${typeof value}`;
}
