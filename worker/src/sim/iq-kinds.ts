// SIMULATION ONLY: names an IQ by what it asks, so the simulated WhatsApp can count every IQ it
// receives by kind (issue 8, "One door to WhatsApp": nothing the worker causes goes unseen).

import { getBinaryNodeChild, type BinaryNode } from '@whiskeysockets/baileys';

/** `xmlns` plus the first child's tag where one namespace serves several questions. */
export function iqKind(node: BinaryNode): string {
  const xmlns = node.attrs.xmlns ?? node.tag;
  const first = Array.isArray(node.content) ? node.content[0] : undefined;
  const child = typeof first === 'object' && first !== null && 'tag' in first ? first.tag : undefined;
  // whatsmeow user.go GetProfilePictureInfo: a community's picture is a `w:g2` IQ with <pictures>;
  // Baileys 7.0.0-rc14 Socket/groups.js groupFetchAllParticipating is a `w:g2` IQ with <participating>.
  if (xmlns === 'w:g2' || xmlns === 'privacy' || xmlns === 'encrypt') return child === undefined ? xmlns : `${xmlns} ${child}`;
  return xmlns;
}

/** Whether an IQ is a picture query, in either of its two forms. */
export function isPictureIq(node: BinaryNode): boolean {
  if (node.attrs.xmlns === 'w:profile:picture') return true;
  return node.attrs.xmlns === 'w:g2' && getBinaryNodeChild(node, 'pictures') !== undefined;
}

/** A counter of IQs by kind. */
export class IqTally {
  private readonly counts = new Map<string, number>();

  add(kind: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  get total(): number {
    let sum = 0;
    for (const count of this.counts.values()) sum += count;
    return sum;
  }

  byKind(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}
