#!/usr/bin/env node
// Draws the app's and the integration's icon and logo at the sizes Home Assistant asks for, from
// one vector description, so every size is sharp (no upscaled bitmaps) and they stay alike.
//
//   Integration (custom_components/whatsapp/brand/, home-assistant/brands README "Image
//   specification"): icon.png 256×256, icon@2x.png 512×512, logo.png shortest side 128–256,
//   logo@2x.png shortest side 256–512.
//   App (addon/, developers.home-assistant docs/add-ons/presentation.md): icon.png square (128×128
//   recommended), logo.png about 250×100 recommended; here at the brand sizes (256×256, 320×128),
//   which meet both.
//
// Usage: node scripts/brand-images.mjs [--root DIR]. Writes 8-bit RGBA, non-interlaced PNGs.

import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const SUPERSAMPLES_PER_AXIS = 4;
const DARK_GREEN = [11, 94, 75];
const GREEN = [37, 211, 102];
const TEAL = [18, 140, 126];
const BLUE = [52, 183, 241];
const WHITE = [255, 255, 255];

/** @typedef {(x: number, y: number) => number[] | undefined} Shape  colour at (x, y), or none */

const disc = (cx, cy, r, colour) => (x, y) => ((x - cx) ** 2 + (y - cy) ** 2 <= r * r ? colour : undefined);
const triangle = (points, colour) => (x, y) => {
  const sign = (a, b) => (x - b[0]) * (a[1] - b[1]) - (a[0] - b[0]) * (y - b[1]);
  const [p, q, r] = points;
  const d1 = sign(p, q);
  const d2 = sign(q, r);
  const d3 = sign(r, p);
  return (d1 < 0 || d2 < 0 || d3 < 0) && (d1 > 0 || d2 > 0 || d3 > 0) ? undefined : colour;
};
/** The lower part of a ring: the smile. */
const smile = (cx, cy, inner, outer, colour) => (x, y) => {
  const distance = Math.hypot(x - cx, y - cy);
  return y > cy + 0.02 && distance >= inner && distance <= outer ? colour : undefined;
};
const clipped = (clip, shape) => (x, y) => (clip(x, y) ? shape(x, y) : undefined);

/** The speech bubble with a smiling face, in a box from (ox, oy) of side s. */
function face(ox, oy, s) {
  const at = (u, v) => [ox + u * s, oy + v * s];
  const [cx, cy] = at(0.5, 0.47);
  return [
    triangle([at(0.06, 0.97), at(0.16, 0.66), at(0.4, 0.84)], DARK_GREEN),
    disc(cx, cy, 0.45 * s, DARK_GREEN),
    triangle([at(0.12, 0.9), at(0.2, 0.68), at(0.38, 0.8)], GREEN),
    disc(cx, cy, 0.405 * s, GREEN),
    disc(...at(0.36, 0.38), 0.055 * s, WHITE),
    disc(...at(0.64, 0.38), 0.055 * s, WHITE),
    smile(...at(0.5, 0.47), 0.19 * s, 0.25 * s, WHITE),
  ];
}

/** A round contact picture: a coloured disc with a white head and shoulders. */
function person(cx, cy, r, colour) {
  const inside = disc(cx, cy, r, colour);
  return [inside, disc(cx, cy - 0.22 * r, 0.32 * r, WHITE), clipped(inside, disc(cx, cy + 0.78 * r, 0.6 * r, WHITE))];
}

/** Layers front to back, sampled on a width×height pixel grid in units where the height is 1. */
function render(width, height, layers) {
  const pixels = Buffer.alloc(width * height * 4);
  const n = SUPERSAMPLES_PER_AXIS;
  for (let py = 0; py < height; py++) {
    for (let px = 0; px < width; px++) {
      const sum = [0, 0, 0, 0];
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const x = (px + (sx + 0.5) / n) / height;
          const y = (py + (sy + 0.5) / n) / height;
          let colour;
          for (let index = layers.length - 1; index >= 0 && colour === undefined; index--) colour = layers[index](x, y);
          if (colour === undefined) continue;
          sum[0] += colour[0];
          sum[1] += colour[1];
          sum[2] += colour[2];
          sum[3] += 255;
        }
      }
      const covered = sum[3] / 255;
      const offset = (py * width + px) * 4;
      if (covered > 0) for (let c = 0; c < 3; c++) pixels[offset + c] = Math.round(sum[c] / covered);
      pixels[offset + 3] = Math.round(sum[3] / (n * n));
    }
  }
  return encodePng(width, height, pixels);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}
function encodePng(width, height, rgba) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per channel
  header[9] = 6; // RGBA
  const rows = [];
  for (let y = 0; y < height; y++) rows.push(Buffer.from([0]), rgba.subarray(y * width * 4, (y + 1) * width * 4));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(Buffer.concat(rows), { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const icon = (side) => render(side, side, face(0, 0, 1));
// 2.5 : 1, the proportions of the 250×100 the app docs recommend.
const logo = (height) =>
  render(Math.round(2.5 * height), height, [
    ...face(0.02, 0.02, 0.96),
    ...person(1.33, 0.5, 0.2, TEAL),
    ...person(1.79, 0.5, 0.2, BLUE),
    ...person(2.25, 0.5, 0.2, GREEN),
  ]);

const rootIndex = process.argv.indexOf('--root');
const root = rootIndex > 0 ? path.resolve(process.argv[rootIndex + 1] ?? '.') : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outputs = {
  'custom_components/whatsapp/brand/icon.png': () => icon(256),
  'custom_components/whatsapp/brand/icon@2x.png': () => icon(512),
  'custom_components/whatsapp/brand/logo.png': () => logo(128),
  'custom_components/whatsapp/brand/logo@2x.png': () => logo(256),
  'addon/icon.png': () => icon(256),
  'addon/logo.png': () => logo(128),
};
for (const [relative, draw] of Object.entries(outputs)) {
  const target = path.join(root, relative);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(`${target}.tmp`, draw());
  renameSync(`${target}.tmp`, target);
  process.stdout.write(`wrote ${relative}\n`);
}
