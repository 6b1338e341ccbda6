//! Money as the shop stores it: integer minor units and an ISO 4217 code. Never a float;
//! every sum and product is checked, and amounts of different currencies never mix.

/// An amount in minor units of `currency`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Money {
    /// Minor units (cents for EUR).
    pub amount_minor: i64,
    /// ISO 4217 code, upper case.
    pub currency: String,
}

/// Why two amounts could not be combined.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The catalog priced two products in different currencies.
    #[error("amounts in {0} and {1} cannot be added")]
    MixedCurrencies(String, String),
    /// Beyond what an i64 of minor units holds.
    #[error("the amount is too large")]
    Overflow,
}

impl Money {
    /// `amount_minor` of `currency`.
    pub fn new(amount_minor: i64, currency: impl Into<String>) -> Self {
        Self { amount_minor, currency: currency.into() }
    }

    /// This amount `quantity` times.
    pub fn times(&self, quantity: u32) -> Result<Money, MoneyError> {
        let amount = self.amount_minor.checked_mul(i64::from(quantity)).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency.clone()))
    }

    /// The sum of `amounts`; `None` when there are none (the currency is then unknown).
    pub fn sum<'a>(amounts: impl IntoIterator<Item = &'a Money>) -> Result<Option<Money>, MoneyError> {
        let mut total: Option<Money> = None;
        for amount in amounts {
            total = Some(match total {
                None => amount.clone(),
                Some(total) if total.currency != amount.currency => {
                    return Err(MoneyError::MixedCurrencies(total.currency, amount.currency.clone()));
                }
                Some(total) => Money::new(
                    total.amount_minor.checked_add(amount.amount_minor).ok_or(MoneyError::Overflow)?,
                    total.currency,
                ),
            });
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_and_sums_are_checked() {
        let price = Money::new(1299, "EUR");
        assert_eq!(price.times(3), Ok(Money::new(3897, "EUR")));
        assert_eq!(Money::new(i64::MAX, "EUR").times(2), Err(MoneyError::Overflow));
        let lines = [Money::new(100, "EUR"), Money::new(250, "EUR")];
        assert_eq!(Money::sum(&lines), Ok(Some(Money::new(350, "EUR"))));
        assert_eq!(Money::sum(&[]), Ok(None));
        let mixed = [Money::new(100, "EUR"), Money::new(1, "USD")];
        assert!(matches!(Money::sum(&mixed), Err(MoneyError::MixedCurrencies(..))));
        assert_eq!(Money::sum(&[Money::new(i64::MAX, "EUR"), Money::new(1, "EUR")]), Err(MoneyError::Overflow));
    }
}
