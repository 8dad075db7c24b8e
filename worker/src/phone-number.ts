// The phone-number rule, once: E.164 without the plus, the country code and number, 7 to 15
// digits, no leading 0. Spaces, dashes, brackets and one leading + are how people write it. The
// integration applies the same rule (custom_components/whatsapp/services.py); both test suites
// check it against the same cases, tests/fixtures/phone-numbers.json.

export const PHONE_NUMBER_DIGITS = /^[1-9][0-9]{6,14}$/;
// Only the plain space: a tab or newline in a pasted number is a mistake, not formatting.
const SEPARATORS = /[ ()-]/g;

/** The digits of a phone number as people write it, or undefined when it is not one. */
export function phoneNumberDigits(input: string): string | undefined {
  const digits = input.replace(SEPARATORS, '').replace(/^\+/, '');
  return PHONE_NUMBER_DIGITS.test(digits) ? digits : undefined;
}
