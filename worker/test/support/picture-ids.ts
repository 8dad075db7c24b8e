// Test picture ids go through the same rule as real ones (`isPictureId`), so a bad one fails here.

import { isPictureId, type PictureId } from '../../src/avatars/picture-id.js';

export function testPictureId(text: string): PictureId {
  if (!isPictureId(text)) throw new Error(`not a picture id: ${JSON.stringify(text)}`);
  return text;
}
