// Counts for people ("1,150"), one formatter for every log line and status text. It is made on
// first use: creating an Intl.NumberFormat loads ICU's locale data (26–27 ms on the project's
// machine, 2026-12-03), which `status --json` and every CLI command paid at import for nothing.

let formatter: Intl.NumberFormat | undefined;

export function formatCount(value: number): string {
  formatter ??= new Intl.NumberFormat('en-US');
  return formatter.format(value);
}
