// WhatsApp's id of a profile picture (the `id` attribute of its <picture>): stored with the
// subject and sent back with the next query, so an unchanged picture costs no download. The one
// rule for it lives here; `checkedOutcome` (answer-check.ts) applies it to every answer at the
// edge, so everything past it holds a `PictureId` and never checks again.

declare const PICTURE_ID_BRAND: unique symbol;
/** A picture id that passed `isPictureId`: a non-empty string. Made at the edge, or read back from the store. */
export type PictureId = string & { readonly [PICTURE_ID_BRAND]: true };

/**
 * Whether a value is a usable picture id. whatsmeow reads a picture's `id` with its strict
 * attribute getter and fails the query without it (user.go `GetProfilePictureInfo`, commit
 * 33cfac5116293e4cb86f8e4099e8eaf6de7ebc08); an empty one is no id either, since sent back it
 * would ask for nothing.
 */
export function isPictureId(value: unknown): value is PictureId {
  return typeof value === 'string' && value !== '';
}

/**
 * A picture id the store wrote itself (it only ever stores a checked one): trusted without a
 * second check, kept here so a search for `as PictureId` finds only trusted places.
 */
export function storedPictureId(value: string): PictureId {
  return value as PictureId;
}
