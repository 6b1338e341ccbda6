//! What the shop says about each fact, in plain text and in HTML.
//!
//! The wording lives in `templates/` (one `.txt` and one `.html` per kind, plus the email
//! layout), compiled in. A `.txt` template's first line is the subject. Placeholders are
//! `{{name}}`; in HTML every value is escaped on the way in ([`Html::escape`]) unless it is
//! markup this module built from escaped parts, so user data (names, carrier, an admin's
//! words) can never become markup.

use super::{Amount, Kind};

/// A fact worth telling a user about, with what the message needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fact {
    /// An account was created.
    Welcome {
        /// Given name.
        first_name: String,
    },
    /// An order was placed.
    OrderPlaced {
        /// The order.
        order_id: String,
        /// What was ordered.
        lines: Vec<Line>,
        /// Amount to pay.
        total: Option<Amount>,
    },
    /// An order was rejected for lack of stock.
    OrderRejected {
        /// The order.
        order_id: String,
        /// The lines that were short.
        short_lines: Vec<ShortLine>,
    },
    /// A payment succeeded.
    PaymentSucceeded {
        /// The order.
        order_id: String,
        /// Amount received.
        amount: Option<Amount>,
    },
    /// An order was shipped.
    OrderShipped {
        /// The order.
        order_id: String,
        /// Carrier name.
        carrier: String,
        /// Tracking number; may be empty.
        tracking_number: String,
    },
    /// An order was cancelled.
    OrderCancelled {
        /// The order.
        order_id: String,
        /// Why; may be empty.
        reason: String,
        /// Whether it was paid (a refund follows).
        was_paid: bool,
    },
    /// A payment was refunded.
    PaymentRefunded {
        /// The order.
        order_id: String,
        /// Amount refunded.
        amount: Option<Amount>,
        /// Why; may be empty.
        reason: String,
    },
    /// An admin's own words.
    AdminMessage {
        /// Their subject.
        subject: String,
        /// Their text.
        body: String,
    },
}

/// One ordered line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Product name at the time of the order.
    pub name: String,
    /// Units.
    pub quantity: i32,
    /// Price of the line.
    pub line_total: Option<Amount>,
}

/// A line that could not be reserved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShortLine {
    /// The product.
    pub product_id: String,
    /// Units asked for.
    pub requested: i32,
    /// Units there were.
    pub available: i32,
}

/// A notification's words: for the inbox (subject and text) and for email (and HTML).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Content {
    /// What it is about.
    pub kind: Kind,
    /// One line.
    pub subject: String,
    /// Plain text, without greeting.
    pub text: String,
    /// The same as an HTML fragment.
    pub html: Html,
    /// The order it concerns.
    pub order_id: Option<String>,
}

/// HTML that is safe to send: escaped text, or markup built from escaped parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Html(String);

impl Html {
    /// `text` with `& < > " '` escaped.
    pub fn escape(text: &str) -> Self {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c => out.push(c),
            }
        }
        Html(out)
    }

    /// Markup that was stored after it was built here (a delivery's HTML part).
    pub fn from_stored(markup: String) -> Self {
        Html(markup)
    }

    /// The markup.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The markup, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// The values of one rendering: each placeholder in its text and its HTML form.
#[derive(Default)]
struct Vars(Vec<(&'static str, String, Html)>);

impl Vars {
    /// A value, escaped for HTML.
    fn text(mut self, name: &'static str, value: impl Into<String>) -> Self {
        let value = value.into();
        let html = Html::escape(&value);
        self.0.push((name, value, html));
        self
    }

    /// A value with its own HTML form.
    fn block(mut self, name: &'static str, text: String, html: Html) -> Self {
        self.0.push((name, text, html));
        self
    }
}

struct Template {
    text: &'static str,
    html: &'static str,
}

fn template(kind: Kind) -> Template {
    macro_rules! files {
        ($name:literal) => {
            Template {
                text: include_str!(concat!("../../templates/", $name, ".txt")),
                html: include_str!(concat!("../../templates/", $name, ".html")),
            }
        };
    }
    match kind {
        Kind::Welcome => files!("welcome"),
        Kind::OrderPlaced => files!("order_placed"),
        Kind::OrderRejected => files!("order_rejected"),
        Kind::PaymentSucceeded => files!("payment_succeeded"),
        Kind::OrderShipped => files!("order_shipped"),
        Kind::OrderCancelled => files!("order_cancelled"),
        Kind::PaymentRefunded => files!("payment_refunded"),
        Kind::AdminMessage => files!("admin_message"),
    }
}

const LAYOUT_TEXT: &str = include_str!("../../templates/layout.txt");
const LAYOUT_HTML: &str = include_str!("../../templates/layout.html");

/// Replaces every `{{name}}` of `template` by `value(name)`; unknown names stay as they are
/// (the tests render every template and look for leftovers).
fn fill<'a>(template: &str, value: impl Fn(&str) -> Option<&'a str>) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}").and_then(|end| value(&after[..end]).map(|v| (v, end))) {
            Some((v, end)) => {
                out.push_str(v);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn money(value: &Option<Amount>) -> String {
    value.as_ref().map(ToString::to_string).unwrap_or_else(|| "the amount due".to_owned())
}

/// " Why: …" when there is a reason.
fn reason(reason: &str) -> String {
    let reason = reason.trim();
    if reason.is_empty() { String::new() } else { format!(" Reason: {reason}.") }
}

impl Fact {
    /// What it is about.
    pub fn kind(&self) -> Kind {
        match self {
            Fact::Welcome { .. } => Kind::Welcome,
            Fact::OrderPlaced { .. } => Kind::OrderPlaced,
            Fact::OrderRejected { .. } => Kind::OrderRejected,
            Fact::PaymentSucceeded { .. } => Kind::PaymentSucceeded,
            Fact::OrderShipped { .. } => Kind::OrderShipped,
            Fact::OrderCancelled { .. } => Kind::OrderCancelled,
            Fact::PaymentRefunded { .. } => Kind::PaymentRefunded,
            Fact::AdminMessage { .. } => Kind::AdminMessage,
        }
    }

    /// The order it concerns.
    pub fn order_id(&self) -> Option<&str> {
        match self {
            Fact::OrderPlaced { order_id, .. }
            | Fact::OrderRejected { order_id, .. }
            | Fact::PaymentSucceeded { order_id, .. }
            | Fact::OrderShipped { order_id, .. }
            | Fact::OrderCancelled { order_id, .. }
            | Fact::PaymentRefunded { order_id, .. } => Some(order_id),
            Fact::Welcome { .. } | Fact::AdminMessage { .. } => None,
        }
    }

    fn vars(&self) -> Vars {
        let vars = Vars::default();
        match self {
            Fact::Welcome { first_name } => {
                vars.text("first_name", if first_name.trim().is_empty() { "there" } else { first_name.trim() })
            }
            Fact::OrderPlaced { order_id, lines, total } => {
                let text = lines
                    .iter()
                    .map(|l| format!("- {} x {}  {}\n", l.quantity, l.name, money(&l.line_total)))
                    .collect::<String>();
                let html = lines
                    .iter()
                    .map(|l| {
                        let line = format!("{} × {} — {}", l.quantity, l.name, money(&l.line_total));
                        format!("<li>{}</li>", Html::escape(&line).as_str())
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                vars.text("order_id", order_id).block("lines", text, Html(html)).text("total", money(total))
            }
            Fact::OrderRejected { order_id, short_lines } => {
                let describe = |l: &ShortLine| {
                    format!("Product {}: you asked for {}, we have {}", l.product_id, l.requested, l.available)
                };
                let text = short_lines.iter().map(|l| format!("- {}\n", describe(l))).collect::<String>();
                let html = short_lines
                    .iter()
                    .map(|l| format!("<li>{}</li>", Html::escape(&describe(l)).as_str()))
                    .collect::<Vec<_>>()
                    .join("\n");
                vars.text("order_id", order_id).block("short_lines", text, Html(html))
            }
            Fact::PaymentSucceeded { order_id, amount } => {
                vars.text("order_id", order_id).text("amount", money(amount))
            }
            Fact::OrderShipped { order_id, carrier, tracking_number } => {
                let tracking = tracking_number.trim();
                let (text, html) = if tracking.is_empty() {
                    (String::new(), Html(String::new()))
                } else {
                    let text = format!(" Tracking number: {tracking}.");
                    let html = format!(" Tracking number: <code>{}</code>.", Html::escape(tracking).as_str());
                    (text, Html(html))
                };
                let carrier = if carrier.trim().is_empty() { "our carrier" } else { carrier.trim() };
                vars.text("order_id", order_id).text("carrier", carrier).block("tracking", text, html)
            }
            Fact::OrderCancelled { order_id, reason: why, was_paid } => {
                let refund = if *was_paid { " You paid for it: we are refunding you in full." } else { "" };
                vars.text("order_id", order_id).text("reason", reason(why)).text("refund", refund)
            }
            Fact::PaymentRefunded { order_id, amount, reason: why } => {
                vars.text("order_id", order_id).text("amount", money(amount)).text("reason", reason(why))
            }
            Fact::AdminMessage { subject, body } => vars.text("subject", subject).text("body", body),
        }
    }

    /// The notification's words.
    pub fn render(&self) -> Content {
        let kind = self.kind();
        let template = template(kind);
        let vars = self.vars();
        let text = fill(template.text, |name| vars.0.iter().find(|v| v.0 == name).map(|v| v.1.as_str()));
        let html = fill(template.html, |name| vars.0.iter().find(|v| v.0 == name).map(|v| v.2.as_str()));
        let (subject, text) = text.split_once('\n').unwrap_or((text.as_str(), ""));
        Content {
            kind,
            subject: subject.trim().to_owned(),
            text: text.trim().to_owned(),
            html: Html(html.trim().to_owned()),
            order_id: self.order_id().map(ToOwned::to_owned),
        }
    }
}

/// An email's two bodies: the notification inside the layout, greeting `first_name`.
pub fn email(subject: &str, text: &str, html: &Html, first_name: &str) -> (String, Html) {
    let name = first_name.trim();
    let greeting = if name.is_empty() { String::new() } else { format!(" {name}") };
    let greeting_html = Html::escape(&greeting);
    let subject_html = Html::escape(subject);
    let text = fill(LAYOUT_TEXT, |var| match var {
        "greeting_name" => Some(greeting.as_str()),
        "content" => Some(text),
        _ => None,
    });
    let html = fill(LAYOUT_HTML, |var| match var {
        "greeting_name" => Some(greeting_html.as_str()),
        "subject" => Some(subject_html.as_str()),
        "content" => Some(html.as_str()),
        _ => None,
    });
    (text, Html(html))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(amount_minor: i64) -> Option<Amount> {
        Some(Amount::Money(mart_platform::money::Money::new(amount_minor, mart_platform::money::Currency::EUR)))
    }

    fn every_fact() -> Vec<Fact> {
        let order_id = "o-1".to_owned();
        vec![
            Fact::Welcome { first_name: "Ada".into() },
            Fact::OrderPlaced {
                order_id: order_id.clone(),
                lines: vec![Line { name: "Tea".into(), quantity: 2, line_total: eur(700) }],
                total: eur(700),
            },
            Fact::OrderRejected {
                order_id: order_id.clone(),
                short_lines: vec![ShortLine { product_id: "p1".into(), requested: 3, available: 1 }],
            },
            Fact::PaymentSucceeded { order_id: order_id.clone(), amount: eur(700) },
            Fact::OrderShipped { order_id: order_id.clone(), carrier: "DHL".into(), tracking_number: "T1".into() },
            Fact::OrderCancelled { order_id: order_id.clone(), reason: "changed my mind".into(), was_paid: true },
            Fact::PaymentRefunded { order_id, amount: eur(700), reason: String::new() },
            Fact::AdminMessage { subject: "Hi".into(), body: "A word".into() },
        ]
    }

    #[test]
    fn every_kind_renders_without_leftover_placeholders() {
        let facts = every_fact();
        assert_eq!(facts.len(), Kind::ALL.len());
        for fact in facts {
            let content = fact.render();
            assert_eq!(content.kind, fact.kind());
            for part in [&content.subject, &content.text, content.html.as_str()] {
                assert!(!part.contains("{{") && !part.is_empty(), "{:?}: {part}", fact.kind());
            }
            let (text, html) = email(&content.subject, &content.text, &content.html, "Ada");
            assert!(text.starts_with("Hello Ada,") && text.contains(&content.text), "{text}");
            assert!(html.as_str().contains(content.html.as_str()) && !html.as_str().contains("{{"));
        }
    }

    #[test]
    fn user_data_never_becomes_markup() {
        let fact = Fact::OrderShipped {
            order_id: "o".into(),
            carrier: "<script>alert(1)</script>".into(),
            tracking_number: "\"><img src=x>".into(),
        };
        let content = fact.render();
        assert!(!content.html.as_str().contains("<script>") && !content.html.as_str().contains("<img"));
        assert!(content.html.as_str().contains("&lt;script&gt;"));
        assert!(content.text.contains("<script>"), "plain text stays as written");
        let (_, html) = email(&content.subject, &content.text, &content.html, "<b>Eve</b>");
        assert!(html.as_str().contains("Hello &lt;b&gt;Eve&lt;/b&gt;,"));
    }

    #[test]
    fn words_follow_the_fact() {
        let placed = every_fact().swap_remove(1).render();
        assert_eq!(placed.subject, "We received your order");
        assert!(placed.text.contains("- 2 x Tea  7.00 EUR") && placed.text.contains("Total: 7.00 EUR"));
        assert_eq!(placed.order_id.as_deref(), Some("o-1"));
        let shipped = Fact::OrderShipped { order_id: "o".into(), carrier: "UPS".into(), tracking_number: " ".into() };
        assert_eq!(shipped.render().text, "Your order o is on its way with UPS.");
        let admin = Fact::AdminMessage { subject: "Sale <now>".into(), body: "Line 1\nLine 2".into() }.render();
        assert_eq!((admin.subject.as_str(), admin.text.as_str()), ("Sale <now>", "Line 1\nLine 2"));
        let (_, html) = email(&admin.subject, &admin.text, &admin.html, "");
        assert!(html.as_str().contains("<title>Sale &lt;now&gt;</title>") && html.as_str().contains("<p>Hello,</p>"));
    }
}
