//! svc-order's own settings, beside the ones every service shares (platform's
//! [`Config`](mart_platform::config::Config)): read once at start from the environment,
//! built directly by tests.

use std::time::Duration;

use mart_platform::config::{ConfigError, Vars};

/// svc-order's configuration: the shared settings, and [`Settings`] as `own`.
pub type Config = mart_platform::config::Config<Settings>;

/// The knobs of carts and checkout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `MART_ORDER_MAX_QUANTITY`: the most units of one product a cart line (and so an
    /// order line) may hold; 1..=999, the contract's ceiling. Default 99.
    pub max_quantity: u32,
    /// `MART_PAYMENT_TIMEOUT`: how long an order whose stock is reserved waits for its
    /// payment. svc-order owns this one deadline: it is stored with the order and travels
    /// in OrderAwaitingPayment (`payment_due_by`), and svc-payment expires the payment at
    /// exactly that instant. Default 30 minutes.
    pub payment_timeout: Duration,
    /// `MART_ORDER_EXPIRY_GRACE`: how long after the deadline [`loops`](crate::loops)
    /// cancels an order whose payment exists (AWAITING_PAYMENT) itself. svc-payment expires
    /// such a payment at the deadline (closing it at the provider first, so it cannot be
    /// paid afterwards), and its PaymentFailed cancels the order; the sweep is the backstop
    /// for when svc-payment is down, and waiting this long keeps it from racing svc-payment.
    /// A RESERVED order (no payment yet) is cancelled at the deadline itself. Default 60
    /// seconds.
    pub expiry_grace: Duration,
    /// `MART_ORDER_MAX_OPEN_UNPAID`: how many unpaid orders (PENDING, RESERVED or
    /// AWAITING_PAYMENT)
    /// one account may have open; PlaceOrder refuses one more (FAILED_PRECONDITION
    /// `TOO_MANY_UNPAID_ORDERS`, HTTP 409). 0..=10000; `0`: no cap. Default 3.
    pub max_open_unpaid: u32,
    /// `MART_ORDER_MAX_OPEN_UNPAID_PER_ADDRESS`: the same, over every account placing from
    /// one client address (IPv4, or IPv6 /64, as the edge passes it on), since accounts
    /// are free (`TOO_MANY_UNPAID_ORDERS_FROM_ADDRESS`). Generous, because many shoppers
    /// may share an address (an office, a carrier's NAT). 0..=1000000; `0`: no cap.
    /// Default 30.
    pub max_open_unpaid_per_address: u32,
    /// `MART_ORDER_MAX_WATCHERS`: how many WatchOrder streams one svc-order process keeps
    /// open at once; one more is RESOURCE_EXHAUSTED. 1..=1000000. Default 10000.
    pub max_watchers: u32,
    /// `MART_ORDER_MAX_WATCHERS_PER_USER`: how many of them one account may hold (a few
    /// tabs, a phone), so that one caller cannot take every place. 1..=10000. Default 20.
    pub max_watchers_per_user: u32,
    /// `MART_ORDER_WATCH_MAX_LIFE`: how long one WatchOrder stream lasts at most; it then
    /// ends cleanly and the client watches again, so that streams move between replicas
    /// and none is held forever. Default 30 minutes.
    pub watch_max_life: Duration,
    /// `MART_ORDER_WATCH_RECHECK`: how often the orders being watched are looked up again
    /// ([`loops::recheck`](crate::loops::recheck)), in a few queries for all of them, to see
    /// changes another replica made. Changes made by this process reach its watchers at once.
    /// Default 5 seconds.
    pub watch_recheck: Duration,
}

impl Default for Settings {
    /// The embedded defaults.
    fn default() -> Self {
        Self {
            max_quantity: 99,
            payment_timeout: Duration::from_secs(30 * 60),
            expiry_grace: Duration::from_secs(60),
            max_open_unpaid: 3,
            max_open_unpaid_per_address: 30,
            max_watchers: 10_000,
            max_watchers_per_user: 20,
            watch_max_life: Duration::from_secs(30 * 60),
            watch_recheck: Duration::from_secs(5),
        }
    }
}

impl mart_platform::config::Settings for Settings {
    fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        Ok(Self {
            max_quantity: vars.number_in("MART_ORDER_MAX_QUANTITY", defaults.max_quantity, 1..=999)?,
            payment_timeout: vars.duration_or("MART_PAYMENT_TIMEOUT", defaults.payment_timeout)?,
            expiry_grace: vars.duration_or("MART_ORDER_EXPIRY_GRACE", defaults.expiry_grace)?,
            max_open_unpaid: vars.number_in("MART_ORDER_MAX_OPEN_UNPAID", defaults.max_open_unpaid, 0..=10_000)?,
            max_open_unpaid_per_address: vars.number_in(
                "MART_ORDER_MAX_OPEN_UNPAID_PER_ADDRESS",
                defaults.max_open_unpaid_per_address,
                0..=1_000_000,
            )?,
            max_watchers: vars.number_in("MART_ORDER_MAX_WATCHERS", defaults.max_watchers, 1..=1_000_000)?,
            max_watchers_per_user: vars.number_in(
                "MART_ORDER_MAX_WATCHERS_PER_USER",
                defaults.max_watchers_per_user,
                1..=10_000,
            )?,
            watch_max_life: vars.duration_or("MART_ORDER_WATCH_MAX_LIFE", defaults.watch_max_life)?,
            watch_recheck: vars.duration_or("MART_ORDER_WATCH_RECHECK", defaults.watch_recheck)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use mart_platform::{
        config::{Service, Settings as _},
        test_util::assert_refused,
    };

    use super::*;

    #[test]
    fn defaults_are_the_embedded_mode() {
        assert_eq!(Settings::from_pairs(&[]).unwrap(), Settings::default());
        let own = Config::embedded(Service::Order).own;
        assert_eq!((own.max_quantity, own.payment_timeout), (99, Duration::from_secs(1800)));
        assert_eq!((own.max_open_unpaid, own.max_open_unpaid_per_address), (3, 30));
        assert_eq!(own.expiry_grace, Duration::from_secs(60));
        assert_eq!((own.max_watchers, own.max_watchers_per_user), (10_000, 20));
        assert_eq!((own.watch_max_life, own.watch_recheck), (Duration::from_secs(1800), Duration::from_secs(5)));
    }

    #[test]
    fn values_are_read() {
        let own = Settings::from_pairs(&[("MART_ORDER_MAX_QUANTITY", "12"), ("MART_PAYMENT_TIMEOUT", "5m")]).unwrap();
        assert_eq!((own.max_quantity, own.payment_timeout), (12, Duration::from_secs(300)));
        assert_eq!(Settings::from_pairs(&[("MART_ORDER_MAX_QUANTITY", "999")]).unwrap().max_quantity, 999);
        let vars = Vars::from_pairs([("MART_ORDER_MAX_QUANTITY", "3")]);
        assert_eq!(Config::from_vars(Service::Order, &vars).unwrap().own.max_quantity, 3);
        let own = Settings::from_pairs(&[
            ("MART_ORDER_MAX_OPEN_UNPAID", "5"),
            ("MART_ORDER_MAX_OPEN_UNPAID_PER_ADDRESS", "0"),
        ])
        .unwrap();
        assert_eq!((own.max_open_unpaid, own.max_open_unpaid_per_address), (5, 0), "0 switches a cap off");
        let own = Settings::from_pairs(&[("MART_ORDER_EXPIRY_GRACE", "2m")]).unwrap();
        assert_eq!(own.expiry_grace, Duration::from_secs(120));
        let own = Settings::from_pairs(&[
            ("MART_ORDER_MAX_WATCHERS", "50"),
            ("MART_ORDER_MAX_WATCHERS_PER_USER", "2"),
            ("MART_ORDER_WATCH_MAX_LIFE", "10m"),
            ("MART_ORDER_WATCH_RECHECK", "1s"),
        ])
        .unwrap();
        assert_eq!((own.max_watchers, own.max_watchers_per_user), (50, 2));
        assert_eq!((own.watch_max_life, own.watch_recheck), (Duration::from_secs(600), Duration::from_secs(1)));
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_refused::<Settings>(&[
            ("MART_ORDER_MAX_QUANTITY", "0"),
            ("MART_ORDER_MAX_QUANTITY", "1000"),
            ("MART_ORDER_MAX_QUANTITY", "many"),
            ("MART_PAYMENT_TIMEOUT", "soon"),
            ("MART_PAYMENT_TIMEOUT", "0s"),
            ("MART_ORDER_MAX_OPEN_UNPAID", "-1"),
            ("MART_ORDER_MAX_OPEN_UNPAID", "10001"),
            ("MART_ORDER_MAX_OPEN_UNPAID", "three"),
            ("MART_ORDER_MAX_OPEN_UNPAID_PER_ADDRESS", "1000001"),
            ("MART_ORDER_MAX_OPEN_UNPAID_PER_ADDRESS", "lots"),
            ("MART_ORDER_EXPIRY_GRACE", "a minute"),
            ("MART_ORDER_EXPIRY_GRACE", "0s"),
            ("MART_ORDER_MAX_WATCHERS", "0"),
            ("MART_ORDER_MAX_WATCHERS_PER_USER", "0"),
            ("MART_ORDER_MAX_WATCHERS_PER_USER", "10001"),
            ("MART_ORDER_WATCH_MAX_LIFE", "forever"),
            ("MART_ORDER_WATCH_RECHECK", "0s"),
        ]);
    }
}
