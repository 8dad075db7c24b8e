// Is a downloaded body a JPEG picture? Magic bytes alone let a 44-byte non-image through and
// replace a good picture, so the marker structure is walked (ITU-T T.81 Annex B): segments with
// lengths that fit, one frame header with sane dimensions, a scan, and the end-of-image marker at
// the end. Pure and allocation-free; decoding the pixels is the viewer's job, not ours.

export type JpegCheck =
  | { readonly ok: true; readonly width: number; readonly height: number; readonly components: number }
  | { readonly ok: false; readonly problem: string };

// WhatsApp stores profile pictures at 640 px (full) and 96 px (preview); a side past this is not one.
export const MAX_JPEG_SIDE_PX = 4096;
// Some encoders pad after the end-of-image marker; a few bytes are tolerated, a second file is not.
export const JPEG_TRAILER_WINDOW_BYTES = 64;

const MARKER_PREFIX = 0xff;
const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const TEM = 0x01;
// C4 (DHT), C8 (JPG, reserved) and CC (DAC) share the C0–CF range without being frame headers.
const NOT_FRAME_HEADERS = new Set([0xc4, 0xc8, 0xcc]);

function isFrameHeader(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && !NOT_FRAME_HEADERS.has(marker);
}

function isRestart(marker: number): boolean {
  return marker >= 0xd0 && marker <= 0xd7;
}

const hex = (value: number): string => `0x${value.toString(16).toUpperCase().padStart(2, '0')}`;

/** Walks the JPEG's markers; says what is wrong with the first problem found. */
export function checkJpegStructure(bytes: Uint8Array): JpegCheck {
  if (bytes.length < 4 || bytes[0] !== MARKER_PREFIX || bytes[1] !== SOI) return { ok: false, problem: 'it does not start with a JPEG start-of-image marker' };
  let frame: { width: number; height: number; components: number } | undefined;
  let scans = 0;
  let position = 2;
  for (;;) {
    if (scans > 0) {
      // Entropy-coded data: 0xFF is followed by a stuffed 0x00, a restart marker, or a real marker.
      while (position < bytes.length - 1 && !(bytes[position] === MARKER_PREFIX && bytes[position + 1] !== 0x00 && !isRestart(bytes[position + 1]!))) position++;
      if (position >= bytes.length - 1) return { ok: false, problem: 'it ends without an end-of-image marker (cut short?)' };
    }
    if (bytes[position] !== MARKER_PREFIX) return { ok: false, problem: `expected a marker at byte ${position}, found ${hex(bytes[position] ?? 0)}` };
    while (bytes[position + 1] === MARKER_PREFIX) position++; // fill bytes before a marker are allowed
    const marker = bytes[position + 1];
    if (marker === undefined) return { ok: false, problem: 'it ends inside a marker' };
    position += 2;
    if (marker === EOI) {
      if (frame === undefined || scans === 0) return { ok: false, problem: 'it ends before a frame header and a scan' };
      const trailing = bytes.length - position;
      if (trailing > JPEG_TRAILER_WINDOW_BYTES) return { ok: false, problem: `${trailing} bytes follow the end-of-image marker` };
      return { ok: true, ...frame };
    }
    if (marker === SOI || marker === 0x00 || isRestart(marker)) return { ok: false, problem: `unexpected marker ${hex(marker)} at byte ${position - 2}` };
    if (marker === TEM) continue;
    if (position + 2 > bytes.length) return { ok: false, problem: `marker ${hex(marker)} is cut short` };
    const length = (bytes[position]! << 8) | bytes[position + 1]!;
    if (length < 2 || position + length > bytes.length) return { ok: false, problem: `marker ${hex(marker)} has a length (${length}) that does not fit the file` };
    const segment = bytes.subarray(position + 2, position + length);
    position += length;
    if (isFrameHeader(marker)) {
      if (frame !== undefined) return { ok: false, problem: 'it has a second frame header' };
      const parsed = readFrameHeader(segment);
      if (typeof parsed === 'string') return { ok: false, problem: parsed };
      frame = parsed;
    } else if (marker === SOS) {
      if (frame === undefined) return { ok: false, problem: 'a scan starts before the frame header' };
      const count = segment[0] ?? 0;
      if (count < 1 || count > 4 || segment.length !== 4 + 2 * count) return { ok: false, problem: `the scan header is malformed (${count} components, ${segment.length + 2} bytes)` };
      scans++;
    }
  }
}

function readFrameHeader(segment: Uint8Array): { width: number; height: number; components: number } | string {
  if (segment.length < 6) return 'the frame header is too short';
  const precision = segment[0]!;
  const height = (segment[1]! << 8) | segment[2]!;
  const width = (segment[3]! << 8) | segment[4]!;
  const components = segment[5]!;
  if (precision !== 8 && precision !== 12) return `the frame header has a sample precision of ${precision} bits`;
  if (width < 1 || height < 1 || width > MAX_JPEG_SIDE_PX || height > MAX_JPEG_SIDE_PX) return `the picture is ${width}×${height} px, outside 1–${MAX_JPEG_SIDE_PX}`;
  // Profile pictures are greyscale or YCbCr; CMYK or odd component counts are not something WhatsApp serves.
  if (components !== 1 && components !== 3) return `the frame header names ${components} components, not 1 or 3`;
  if (segment.length !== 6 + 3 * components) return `the frame header's length does not match its ${components} components`;
  return { width, height, components };
}

/** True when `bytes` has a JPEG's structure (see `checkJpegStructure` for why not). */
export function looksLikeJpeg(bytes: Uint8Array): boolean {
  return checkJpegStructure(bytes).ok;
}
