//! Sales reports (GetSalesReport): which UTC days a report covers, in which currency, with
//! how many best sellers; and how the sums the store makes become the report — every day of
//! the range present, days without sales as zero, and the best sellers ranked by units,
//! then revenue, then SKU.
//!
//! An order counts on the day it was paid (`paid_at`, UTC), whatever happened to it since,
//! for its total less what was refunded of it: a fully refunded order is an order paid
//! that day that brought in nothing.

use chrono::{DateTime, Days, NaiveDate, Utc};
use mart_platform::{
    error::{FieldViolation, Violations},
    money::Currency,
};

use super::OptionValue;

/// The most days one report covers.
pub const MAX_DAYS: u64 = 366;

/// The days a report covers when `from` is not given: `to` and the 29 before it.
pub const DEFAULT_DAYS: u64 = 30;

/// Best sellers when `top` is not given.
pub const DEFAULT_TOP: usize = 10;

/// The most best sellers one report lists; more asked for are this many.
pub const MAX_TOP: usize = 50;

/// What a report is asked for, defaults applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SalesQuery {
    /// The first day, inclusive.
    pub from: NaiveDate,
    /// The last day, inclusive; never before `from`, at most [`MAX_DAYS`] after.
    pub to: NaiveDate,
    /// Only orders in it count.
    pub currency: Currency,
    /// How many best sellers to list.
    pub top: usize,
}

impl SalesQuery {
    /// The request's fields (empty or 0: the default) on `today`, every bad one named:
    /// `from` and `to` are `YYYY-MM-DD`, `to` not before `from`, the range at most
    /// [`MAX_DAYS`] long (else `from` is named); `currency` an ISO 4217 code (case forgiven, as
    /// every currency field reads it); `top` not negative.
    pub fn parse(
        from: &str,
        to: &str,
        currency: &str,
        top: i32,
        today: NaiveDate,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Violations::new();
        let from = violations.check(day("from", from));
        let to = violations.check(day("to", to));
        let currency = violations.check(currency_code(currency));
        let top = match top {
            0 => Some(DEFAULT_TOP),
            n if n < 0 => {
                violations.add("top", "must not be negative");
                None
            }
            n => Some(usize::try_from(n).unwrap_or(MAX_TOP).min(MAX_TOP)),
        };
        let range = match (from, to) {
            (Some(from), Some(to)) => {
                let to = to.unwrap_or(today);
                let from = from.or_else(|| to.checked_sub_days(Days::new(DEFAULT_DAYS - 1))).unwrap_or(to);
                if to < from {
                    violations.add("to", "must not be before from");
                    None
                } else if (to - from).num_days() >= MAX_DAYS as i64 {
                    violations.add("from", format!("a report covers at most {MAX_DAYS} days"));
                    None
                } else {
                    Some((from, to))
                }
            }
            _ => None,
        };
        violations.finish()?;
        let (Some((from, to)), Some(currency), Some(top)) = (range, currency, top) else { return Err(vec![]) };
        Ok(Self { from, to, currency, top })
    }

    /// The first instant of the range and the first after it, in UTC: `paid_at` in
    /// `[start, end)` counts.
    pub fn span(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let midnight = |day: NaiveDate| day.and_time(chrono::NaiveTime::MIN).and_utc();
        let end = self.to.succ_opt().map_or(DateTime::<Utc>::MAX_UTC, midnight);
        (midnight(self.from), end)
    }

    /// Every day of the range, oldest first.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> {
        let to = self.to;
        self.from.iter_days().take_while(move |day| *day <= to)
    }
}

/// `value` as the day `field` (`YYYY-MM-DD`); `None` when empty.
fn day(field: &str, value: &str) -> Result<Option<NaiveDate>, FieldViolation> {
    if value.is_empty() {
        return Ok(None);
    }
    let shaped = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    let parsed = shaped.then(|| NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()).flatten();
    parsed.map(Some).ok_or_else(|| FieldViolation::new(field, "must be a date, YYYY-MM-DD"))
}

/// `value` as the report's currency (as every currency field reads it: case forgiven); USD
/// when empty.
fn currency_code(value: &str) -> Result<Currency, FieldViolation> {
    if value.trim().is_empty() {
        return Ok(Currency::USD);
    }
    Currency::parse("currency", value)
}

/// One day of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Day {
    /// The day (UTC).
    pub date: NaiveDate,
    /// Orders paid on it.
    pub orders: i64,
    /// Their totals less their refunds, in minor units.
    pub revenue_minor: i64,
}

/// Every day of `query`'s range, oldest first, with the sums of `sold` (days with sales,
/// in any order), and zero for the others.
pub fn every_day(query: &SalesQuery, sold: &[Day]) -> Vec<Day> {
    query
        .days()
        .map(|date| {
            sold.iter().find(|day| day.date == date).cloned().unwrap_or(Day { date, orders: 0, revenue_minor: 0 })
        })
        .collect()
}

/// A variant among the best sellers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BestSeller {
    /// The variant.
    pub variant_id: String,
    /// Its product.
    pub product_id: String,
    /// The product's name, as on the latest line.
    pub name: String,
    /// The variant's SKU, as on the latest line.
    pub sku: String,
    /// Its option values, as on the latest line.
    pub option_values: Vec<OptionValue>,
    /// Units sold.
    pub units: i64,
    /// The lines' totals, in minor units.
    pub revenue_minor: i64,
}

/// Sorts `sellers` best first — most units, then most revenue, then SKU — and keeps `top`.
pub fn rank(mut sellers: Vec<BestSeller>, top: usize) -> Vec<BestSeller> {
    sellers.sort_by(|a, b| {
        b.units.cmp(&a.units).then(b.revenue_minor.cmp(&a.revenue_minor)).then_with(|| a.sku.cmp(&b.sku))
    });
    sellers.truncate(top);
    sellers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn fields(result: Result<SalesQuery, Vec<FieldViolation>>) -> Vec<String> {
        result.unwrap_err().into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn defaults_are_the_last_thirty_days_in_usd_and_ten_sellers() {
        let query = SalesQuery::parse("", "", "", 0, date("2026-12-04")).unwrap();
        assert_eq!((query.from, query.to), (date("2026-11-05"), date("2026-12-04")));
        assert_eq!((query.currency, query.top), (Currency::USD, DEFAULT_TOP));
        assert_eq!(query.days().count(), 30);
        let query = SalesQuery::parse("", "2026-01-30", "EUR", 80, date("2026-12-04")).unwrap();
        assert_eq!((query.from, query.currency, query.top), (date("2026-01-01"), Currency::EUR, MAX_TOP));
    }

    #[test]
    fn bad_fields_are_named() {
        let today = date("2026-12-04");
        assert_eq!(
            fields(SalesQuery::parse("2026-1-5", "yesterday", "dollars", -1, today)),
            ["from", "to", "currency", "top"]
        );
        assert_eq!(fields(SalesQuery::parse("2026-02-30", "", "", 0, today)), ["from"]);
        assert_eq!(fields(SalesQuery::parse("2026-12-05", "2026-12-04", "", 0, today)), ["to"]);
        assert_eq!(fields(SalesQuery::parse("2024-01-01", "2025-01-01", "", 0, today)), ["from"], "367 days");
        assert_eq!(fields(SalesQuery::parse("", "", "XYZ", 0, today)), ["currency"]);
        assert_eq!(SalesQuery::parse("", "", " eur ", 0, today).unwrap().currency, Currency::EUR, "as elsewhere");
        let leap = SalesQuery::parse("2024-01-01", "2024-12-31", "", 0, today).unwrap();
        assert_eq!(leap.days().count(), 366, "366 days are allowed");
    }

    #[test]
    fn every_day_is_there_and_sellers_rank_by_units_revenue_then_sku() {
        let query = SalesQuery::parse("2026-12-01", "2026-12-03", "", 0, date("2026-12-04")).unwrap();
        let sold = [Day { date: date("2026-12-02"), orders: 2, revenue_minor: 500 }];
        let days = every_day(&query, &sold);
        assert_eq!(days.iter().map(|d| (d.orders, d.revenue_minor)).collect::<Vec<_>>(), [(0, 0), (2, 500), (0, 0)]);
        assert_eq!(query.span().1, date("2026-12-04").and_time(chrono::NaiveTime::MIN).and_utc());

        let seller = |sku: &str, units, revenue_minor| BestSeller {
            variant_id: sku.into(),
            product_id: String::new(),
            name: String::new(),
            sku: sku.into(),
            option_values: vec![],
            units,
            revenue_minor,
        };
        let ranked = rank(vec![seller("B", 2, 10), seller("A", 2, 10), seller("C", 2, 30), seller("D", 5, 1)], 3);
        assert_eq!(ranked.iter().map(|s| s.sku.as_str()).collect::<Vec<_>>(), ["D", "C", "A"]);
    }
}
