// The phone-number rule, once: E.164 without the plus, the country code and number, 7 to 15
// digits, no leading 0. Spaces, dashes, brackets and a leading + are how people write it.

export const PHONE_NUMBER_DIGITS = /^[1-9][0-9]{6,14}$/;

/** The digits of a phone number as people write it, or undefined when it is not one. */
export function phoneNumberDigits(input: string): string | undefined {
  const digits = input.replace(/[\s()-]/g, '').replace(/^\+/, '');
  return PHONE_NUMBER_DIGITS.test(digits) ? digits : undefined;
}
