// The pairing QR as a PNG, so Home Assistant can show it as an image entity without a QR library.

import QRCode from 'qrcode';

// Large enough modules for a phone camera to read off a dashboard; the quiet zone the spec asks for.
const QR_MODULE_PX = 6;
const QR_QUIET_ZONE_MODULES = 4;

export async function renderPairingQr(text: string): Promise<Buffer> {
  return QRCode.toBuffer(text, { type: 'png', scale: QR_MODULE_PX, margin: QR_QUIET_ZONE_MODULES, errorCorrectionLevel: 'M' });
}
