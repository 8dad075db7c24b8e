// SIMULATION ONLY: real, small, distinct JPEG pictures for simulated subjects — identicons, a
// mirrored 12×12 mosaic in two colours derived from (jid, pictureId). Every picture is a pure
// function of those two strings, so a test can compute the sha256 a subject's file must have.
//
// Why a hand-written encoder: jpeg-js builds its tables on every `encode` call (~60 ms each),
// which made a demo with hundreds of subjects and its tests slow. A mosaic of flat 8×8 blocks
// has no AC energy, so a baseline JPEG of it needs only DC coefficients: a few dozen lines, and
// the output is still an ordinary baseline JFIF that every decoder (jpeg-js in the tests) reads.

import { createHash } from 'node:crypto';

export const SIMULATED_PICTURE_SIZE_PX = 96;
const BLOCK_PX = 8;
const BLOCKS = SIMULATED_PICTURE_SIZE_PX / BLOCK_PX; // 12 per side

// Annex K.3 of the JPEG standard: the typical DC luminance table, categories 0–11.
const DC_CODE_LENGTH_COUNTS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_SYMBOLS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
// Every block ends right after its DC value, so the AC table needs only end-of-block (0x00).
const AC_CODE_LENGTH_COUNTS = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const AC_SYMBOLS = [0x00];

type Rgb = readonly [number, number, number];
type HuffmanCode = { readonly code: number; readonly length: number };

function huffmanCodes(lengthCounts: readonly number[], symbols: readonly number[]): Map<number, HuffmanCode> {
  const codes = new Map<number, HuffmanCode>();
  let code = 0;
  let next = 0;
  lengthCounts.forEach((count, index) => {
    for (let n = 0; n < count; n++) codes.set(symbols[next++]!, { code: code++, length: index + 1 });
    code <<= 1;
  });
  return codes;
}

const DC_CODES = huffmanCodes(DC_CODE_LENGTH_COUNTS, DC_SYMBOLS);
const END_OF_BLOCK = huffmanCodes(AC_CODE_LENGTH_COUNTS, AC_SYMBOLS).get(0)!;

class BitWriter {
  private readonly bytes: number[] = [];
  private current = 0;
  private used = 0;

  write(value: number, length: number): void {
    for (let bit = length - 1; bit >= 0; bit--) {
      this.current = (this.current << 1) | ((value >> bit) & 1);
      if (++this.used === 8) this.flushByte();
    }
  }

  /** Pads the last byte with 1-bits, as the standard asks. */
  finish(): number[] {
    while (this.used !== 0) this.write(1, 1);
    return this.bytes;
  }

  private flushByte(): void {
    this.bytes.push(this.current);
    // 0xFF in entropy-coded data must be followed by a stuffed zero byte.
    if (this.current === 0xff) this.bytes.push(0x00);
    this.current = 0;
    this.used = 0;
  }
}

function segment(marker: number, body: readonly number[]): number[] {
  const length = body.length + 2;
  return [0xff, marker, length >> 8, length & 0xff, ...body];
}

function toYCbCr([r, g, b]: Rgb): [number, number, number] {
  return [0.299 * r + 0.587 * g + 0.114 * b, -0.168736 * r - 0.331264 * g + 0.5 * b + 128, 0.5 * r - 0.418688 * g - 0.081312 * b + 128];
}

/** Encodes a mosaic (one colour per 8×8 block, row by row) as a baseline JPEG. */
export function encodeMosaic(blocksWide: number, blocksHigh: number, blockColours: readonly Rgb[]): Buffer {
  if (blockColours.length !== blocksWide * blocksHigh) {
    throw new RangeError(`a ${blocksWide}×${blocksHigh} mosaic needs ${blocksWide * blocksHigh} colours, not ${blockColours.length}`);
  }
  const width = blocksWide * BLOCK_PX;
  const height = blocksHigh * BLOCK_PX;
  const header = [
    0xff, 0xd8, // start of image
    ...segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0, 0, 1, 0, 1, 0, 0]), // JFIF 1.1, aspect 1:1
    // One quantisation table of ones: a flat block's DC is then exactly 8 × (level − 128).
    ...segment(0xdb, [0x00, ...new Array<number>(64).fill(1)]),
    // Baseline, 8-bit, three components without subsampling, all on table 0.
    ...segment(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]),
    ...segment(0xc4, [0x00, ...DC_CODE_LENGTH_COUNTS, ...DC_SYMBOLS, 0x10, ...AC_CODE_LENGTH_COUNTS, ...AC_SYMBOLS]),
    ...segment(0xda, [3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]),
  ];
  const writer = new BitWriter();
  const previousDc = [0, 0, 0];
  for (const colour of blockColours) {
    toYCbCr(colour).forEach((level, component) => {
      const dc = Math.max(-1024, Math.min(1016, Math.round(8 * (level - 128))));
      const difference = dc - previousDc[component]!;
      previousDc[component] = dc;
      const magnitude = Math.abs(difference);
      const category = magnitude === 0 ? 0 : Math.floor(Math.log2(magnitude)) + 1;
      const code = DC_CODES.get(category)!;
      writer.write(code.code, code.length);
      // Negative values are sent as their one's complement in `category` bits.
      if (category > 0) writer.write(difference < 0 ? difference + (1 << category) - 1 : difference, category);
      writer.write(END_OF_BLOCK.code, END_OF_BLOCK.length);
    });
  }
  return Buffer.from([...header, ...writer.finish(), 0xff, 0xd9]);
}

function hslToRgb(hue: number, saturation: number, lightness: number): Rgb {
  const chroma = (1 - Math.abs(2 * lightness - 1)) * saturation;
  const sector = hue / 60;
  const x = chroma * (1 - Math.abs((sector % 2) - 1));
  const [r, g, b] = sector < 1 ? [chroma, x, 0] : sector < 2 ? [x, chroma, 0] : sector < 3 ? [0, chroma, x] : sector < 4 ? [0, x, chroma] : sector < 5 ? [x, 0, chroma] : [chroma, 0, x];
  const m = lightness - chroma / 2;
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}

/** The JPEG bytes of one simulated picture version: a 96×96 identicon. */
export function renderPicture(jid: string, pictureId: string): Buffer {
  const digest = createHash('sha256').update(`${jid}\n${pictureId}`).digest();
  const hue = (digest.readUInt16BE(0) / 0x10000) * 360;
  const foreground = hslToRgb(hue, 0.55 + (digest[2]! % 30) / 100, 0.4 + (digest[3]! % 20) / 100);
  const background = hslToRgb((hue + 180) % 360, 0.25, 0.9);
  const half = BLOCKS / 2;
  const colours: Rgb[] = [];
  for (let row = 0; row < BLOCKS; row++) {
    for (let column = 0; column < BLOCKS; column++) {
      // Mirrored left to right like an identicon; a one-block frame keeps the edge calm.
      const mirrored = column < half ? column : BLOCKS - 1 - column;
      const bitIndex = row * half + mirrored;
      const inside = row > 0 && row < BLOCKS - 1 && mirrored > 0;
      const set = inside && ((digest[4 + (bitIndex >> 3)]! >> (bitIndex & 7)) & 1) === 1;
      colours.push(set ? foreground : background);
    }
  }
  return encodeMosaic(BLOCKS, BLOCKS, colours);
}
