import jpeg from 'jpeg-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkJpegStructure, JPEG_TRAILER_WINDOW_BYTES, looksLikeJpeg, MAX_JPEG_SIDE_PX } from '../../src/avatars/jpeg-structure.js';
import { renderPicture } from '../../src/sim/jpeg.js';

const SIMULATED = renderPicture('491701234567@s.whatsapp.net', '1700000001');

function encoded(width: number, height: number): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) & 0xff; // noise: AC data, stuffed 0xFF bytes
  return jpeg.encode({ data, width, height }, 80).data;
}

// Hand-built files for shapes encoders rarely produce.
const segment = (marker: number, payload: number[]): number[] => [0xff, marker, (payload.length + 2) >> 8, (payload.length + 2) & 0xff, ...payload];
const frame = (marker: number, width: number, height: number, components = 1, precision = 8): number[] =>
  segment(marker, [precision, height >> 8, height & 0xff, width >> 8, width & 0xff, components, ...Array.from({ length: components }, (_, i) => [i + 1, 0x11, 0]).flat()]);
const scan = segment(0xda, [1, 1, 0x00, 0, 63, 0]);
const DHT = segment(0xc4, [0x00, 1, ...Array<number>(15).fill(0), 0]);
function file(...parts: number[][]): Buffer {
  return Buffer.from([0xff, 0xd8, ...parts.flat()]);
}
const EOI = [0xff, 0xd9];
const DATA = [0x12, 0x34, 0xff, 0x00, 0x56];
const problem = (bytes: Uint8Array): string => {
  const check = checkJpegStructure(bytes);
  return check.ok ? 'ok' : check.problem;
};

test('real JPEGs pass and report their frame', () => {
  assert.equal(checkJpegStructure(SIMULATED), { ok: true, width: 96, height: 96, components: 3 });
  assert.equal(checkJpegStructure(encoded(40, 24)), { ok: true, width: 40, height: 24, components: 3 });
  assert.ok(looksLikeJpeg(encoded(640, 640)));
});

test('a little padding after the end marker is allowed, more is not', () => {
  assert.ok(looksLikeJpeg(Buffer.concat([SIMULATED, Buffer.alloc(JPEG_TRAILER_WINDOW_BYTES)])));
  assert.is(problem(Buffer.concat([SIMULATED, Buffer.alloc(JPEG_TRAILER_WINDOW_BYTES + 1)])), `${JPEG_TRAILER_WINDOW_BYTES + 1} bytes follow the end-of-image marker`);
  assert.match(problem(Buffer.concat([SIMULATED, SIMULATED])), /bytes follow the end-of-image marker/);
});

test('cut short anywhere is refused', () => {
  assert.is(problem(SIMULATED.subarray(0, SIMULATED.length - 100)), 'it ends without an end-of-image marker (cut short?)');
  assert.is(problem(SIMULATED.subarray(0, SIMULATED.length - 1)), 'it ends without an end-of-image marker (cut short?)');
  for (const length of [3, 5, 30, 200]) assert.not.ok(looksLikeJpeg(SIMULATED.subarray(0, length)), `first ${length} bytes`);
});

test('not a JPEG at all', () => {
  assert.is(problem(Buffer.from('GIF89a........')), 'it does not start with a JPEG start-of-image marker');
  assert.is(problem(Buffer.from('<html>not a picture</html>')), 'it does not start with a JPEG start-of-image marker');
  assert.is(problem(Buffer.from([0xff, 0xd8])), 'it does not start with a JPEG start-of-image marker');
  assert.is(problem(file(EOI)), 'it ends before a frame header and a scan');
});

test('a JFIF shell without frame or scan is refused (the 44-byte case)', () => {
  const app0 = segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  const comment = segment(0xfe, Array<number>(18).fill(0x20));
  const shell = file(app0, comment, EOI);
  assert.is(shell.length, 44);
  assert.is(problem(shell), 'it ends before a frame header and a scan');
  assert.is(problem(file(app0, frame(0xc0, 8, 8), EOI)), 'it ends before a frame header and a scan');
});

test('the frame header decides: baseline, extended and progressive pass; DHT, JPG, DAC are not frames', () => {
  for (const marker of [0xc0, 0xc1, 0xc2]) assert.is(problem(file(frame(marker, 8, 8), scan, DATA, EOI)), 'ok', marker.toString(16));
  assert.is(problem(file(DHT, scan, DATA, EOI)), 'a scan starts before the frame header');
  assert.is(problem(file(segment(0xcc, [0, 0]), scan, DATA, EOI)), 'a scan starts before the frame header');
  assert.is(problem(file(frame(0xc0, 8, 8), frame(0xc2, 8, 8), scan, DATA, EOI)), 'it has a second frame header');
});

test('dimensions, components and precision must be sane', () => {
  assert.is(problem(file(frame(0xc0, 0, 8), scan, DATA, EOI)), `the picture is 0×8 px, outside 1–${MAX_JPEG_SIDE_PX}`);
  assert.is(problem(file(frame(0xc0, 8, 0), scan, DATA, EOI)), `the picture is 8×0 px, outside 1–${MAX_JPEG_SIDE_PX}`);
  assert.is(problem(file(frame(0xc0, MAX_JPEG_SIDE_PX + 1, 8), scan, DATA, EOI)), `the picture is ${MAX_JPEG_SIDE_PX + 1}×8 px, outside 1–${MAX_JPEG_SIDE_PX}`);
  assert.is(problem(file(frame(0xc0, MAX_JPEG_SIDE_PX, MAX_JPEG_SIDE_PX), scan, DATA, EOI)), 'ok');
  assert.is(problem(file(frame(0xc0, 8, 8, 4), scan, DATA, EOI)), 'the frame header names 4 components, not 1 or 3');
  assert.is(problem(file(frame(0xc0, 8, 8, 2), scan, DATA, EOI)), 'the frame header names 2 components, not 1 or 3');
  assert.is(problem(file(frame(0xc0, 8, 8, 1, 16), scan, DATA, EOI)), 'the frame header has a sample precision of 16 bits');
  assert.is(problem(file(segment(0xc0, [8, 0, 8, 0, 8, 3, 1, 0x11, 0]), scan, DATA, EOI)), "the frame header's length does not match its 3 components");
});

test('segment lengths must fit, scans must be well formed', () => {
  const header = frame(0xc0, 8, 8);
  assert.is(problem(file([0xff, 0xe1, 0x00, 0x01], header, scan, DATA, EOI)), 'marker 0xE1 has a length (1) that does not fit the file');
  assert.is(problem(file([0xff, 0xe1, 0x7f, 0xff, 0, 0], EOI)), 'marker 0xE1 has a length (32767) that does not fit the file');
  assert.is(problem(file(header, segment(0xda, [5, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 0, 63, 0]), DATA, EOI)), 'the scan header is malformed (5 components, 16 bytes)');
  assert.is(problem(file(header, segment(0xda, [2, 1, 0, 0, 63, 0]), DATA, EOI)), 'the scan header is malformed (2 components, 8 bytes)');
  assert.is(problem(file([0x00], header, scan, DATA, EOI)), 'expected a marker at byte 2, found 0x00');
});

test('restart markers and stuffed bytes inside a scan are data; outside a scan they are errors', () => {
  const header = frame(0xc0, 8, 8);
  assert.is(problem(file(header, scan, [1, 2, 0xff, 0xd0, 3, 0xff, 0x00, 0xff, 0xd1, 4], EOI)), 'ok');
  assert.is(problem(file([0xff, 0xd0], header, scan, DATA, EOI)), 'unexpected marker 0xD0 at byte 2');
  assert.is(problem(file(header, [0xff, 0xd8], scan, DATA, EOI)), 'unexpected marker 0xD8 at byte 15');
  // Fill bytes before a marker, and tables between progressive scans, are allowed.
  assert.is(problem(file([0xff, 0xff], header, scan, DATA, DHT, scan, DATA, [0xff, 0xff], EOI)), 'ok');
});

test.run();
