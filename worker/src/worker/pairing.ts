// Pairing, as Home Assistant shows it: the QR (text and, once rendered, a PNG) or the pairing code
// while the account waits for the phone; nothing once linked. A newer QR or the link itself may
// overtake a rendering in flight, which is then dropped.

import type { Logger } from 'pino';
import { renderPairingQr } from './pairing-qr.js';

/** How to link the phone, while the account waits for it. */
export interface PairingInfo {
  readonly qr?: string;
  /** The QR rendered as a PNG, once ready. */
  readonly qrImage?: Buffer;
  readonly code?: string;
}

export class Pairing {
  private current: PairingInfo | undefined;

  /** `changed` runs whenever what HA should show changes (a new QR, its PNG, the link). */
  constructor(
    private readonly changed: () => void,
    private readonly logger: Logger,
  ) {}

  get info(): PairingInfo | undefined {
    return this.current;
  }

  /** The account linked: nothing to show any more. */
  linked(): void {
    this.current = undefined;
  }

  /** The account's `pairing` event: a QR to scan, a code to type, or neither once linked. */
  show(qr: string | undefined, code: string | undefined): void {
    const pairing: PairingInfo | undefined = qr === undefined && code === undefined ? undefined : { qr, code };
    this.current = pairing;
    this.changed();
    if (pairing?.qr !== undefined) void this.attachQrImage(pairing, pairing.qr);
  }

  private async attachQrImage(pairing: PairingInfo, qr: string): Promise<void> {
    try {
      const png = await renderPairingQr(qr);
      if (this.current !== pairing) return;
      this.current = { ...pairing, qrImage: png };
      this.changed();
    } catch (error) {
      this.logger.warn({ err: error }, 'could not render the pairing QR as a picture; the log shows it');
    }
  }
}
