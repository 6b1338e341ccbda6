// Money as the shop sends it (integer minor units of a currency) made readable.
import type { Money } from "../gen/mart/common/v1/common_pb.js";

export function formatMoney(money: Money | undefined, locale?: string): string {
  if (!money || !money.currency) return "";
  const format = new Intl.NumberFormat(locale, { style: "currency", currency: money.currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(Number(money.amountMinor) / 10 ** digits);
}

/** "$5.00" or "$5.00 – $9.00". */
export function formatRange(min: Money | undefined, max: Money | undefined, locale?: string): string {
  const low = formatMoney(min, locale);
  const high = formatMoney(max, locale);
  return !high || low === high ? low : `${low} – ${high}`;
}
