// Test JIDs go through the same door as real ones: `parseJid`, so a typo fails loudly here.

import { requireJid, type Jid } from '../../src/jid.js';

export function testJid(text: string): Jid {
  return requireJid(text).jid;
}
