import { createHash } from 'node:crypto';
import jpeg from 'jpeg-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { looksLikeJpeg } from '../../src/cdn/download.js';
import { encodeMosaic, renderPicture, SIMULATED_PICTURE_SIZE_PX } from '../../src/sim/jpeg.js';

test('a mosaic decodes to the colours it was given', () => {
  const colours: [number, number, number][] = [
    [255, 0, 0],
    [0, 200, 0],
    [0, 0, 255],
    [250, 250, 250],
    [0, 0, 0],
    [120, 60, 200],
  ];
  const decoded = jpeg.decode(encodeMosaic(3, 2, colours));
  assert.is(decoded.width, 24);
  assert.is(decoded.height, 16);
  colours.forEach((colour, index) => {
    // The centre pixel of each 8×8 block.
    const x = (index % 3) * 8 + 4;
    const y = Math.floor(index / 3) * 8 + 4;
    const offset = (y * decoded.width + x) * 4;
    const got = [decoded.data[offset]!, decoded.data[offset + 1]!, decoded.data[offset + 2]!];
    got.forEach((value, channel) => assert.ok(Math.abs(value - colour[channel]!) <= 3, `block ${index}: ${got} vs ${colour}`));
  });
});

test('a mosaic needs one colour per block', () => {
  assert.throws(() => encodeMosaic(2, 2, [[0, 0, 0]]), /needs 4 colours, not 1/);
});

test('rendered pictures are real, deterministic, distinct JPEGs', () => {
  const first = renderPicture('491701234567@s.whatsapp.net', '1700000001');
  assert.ok(first.equals(renderPicture('491701234567@s.whatsapp.net', '1700000001')));
  assert.ok(looksLikeJpeg(first));
  const decoded = jpeg.decode(first);
  assert.is(decoded.width, SIMULATED_PICTURE_SIZE_PX);
  assert.is(decoded.height, SIMULATED_PICTURE_SIZE_PX);
  const jids = ['491701234567@s.whatsapp.net', '441234567890@s.whatsapp.net', '120363012345678901@g.us'];
  const ids = ['1700000001', '1700000002', '1700000003'];
  const hashes = new Set(ids.flatMap((id) => jids.map((jid) => createHash('sha256').update(renderPicture(jid, id)).digest('hex'))));
  assert.is(hashes.size, jids.length * ids.length);
});

test.run();
