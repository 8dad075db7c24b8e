// The one masking rule for logs: long digit runs (phone numbers, LIDs, the creator's number in old
// group ids) keep only their last digits. The logger applies it to every string of every line it
// writes (logger.ts), so a core log call that names a JID prints `…567@s.whatsapp.net`.

// Digits kept at the end of a number: enough to tell two contacts apart in a log, too few to dial.
const VISIBLE_TRAILING_DIGITS = 3;
// Runs of this many digits or more are treated as phone numbers or LIDs (group ids embed a
// creator's phone number too); shorter numbers are status codes, counts and device ids.
const MIN_MASKED_DIGITS = 6;
const DIGIT_RUN = new RegExp(`\\d{${MIN_MASKED_DIGITS},}`, 'g');
/** `+49 170 1234567` or `491701234567` → `…567`. */
export function maskPhoneNumber(phoneNumber: string): string {
  const digits = phoneNumber.replace(/\D/g, '');
  if (digits.length <= VISIBLE_TRAILING_DIGITS) return '…';
  return `…${digits.slice(-VISIBLE_TRAILING_DIGITS)}`;
}

/** Masks every long digit run in a text, e.g. a JID: `491701234567@s.whatsapp.net` → `…567@s.whatsapp.net`. */
export function maskDigits(text: string): string {
  return text.replace(DIGIT_RUN, (run) => `…${run.slice(-VISIBLE_TRAILING_DIGITS)}`);
}

export const maskJid = maskDigits;

// A JSON string in a log line: only strings are masked, so numbers (pino's `time`, counts) stay.
const JSON_STRING = /"(?:[^"\\]|\\.)*"/g;

/** Masks every long digit run inside the strings of one JSON log line. */
export function maskLogLine(line: string): string {
  return line.replace(JSON_STRING, (text) => maskDigits(text));
}
