// Baileys rejects and ends sockets with @hapi/boom errors (rc14 lib/Socket/socket.js,
// WABinary/generic-utils.js assertNodeErrorFree): `output.statusCode` is a DisconnectReason or
// an HTTP-like code, `data` what the node carried (a WhatsApp error code, a <failure>'s attributes,
// the Node error of a failed WebSocket). Read by shape: Boom is not one of our dependencies.

export interface BoomLike {
  readonly isBoom?: true;
  readonly message: string;
  readonly output?: { readonly statusCode?: number };
  readonly data?: unknown;
}

export function isBoom(error: unknown): error is BoomLike & { readonly isBoom: true } {
  return typeof error === 'object' && error !== null && (error as { isBoom?: unknown }).isBoom === true;
}

/** The status code of a Boom (or a bare close code); undefined for anything else. */
export function boomStatusCode(error: unknown): number | undefined {
  if (typeof error === 'number') return error;
  const code = (error as BoomLike | undefined)?.output?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** What a Boom carries in `data`, if anything. */
export function boomData(error: unknown): unknown {
  return (error as BoomLike | undefined)?.data;
}
