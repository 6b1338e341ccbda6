// One order, kept live (WatchOrder, or polling): its status and the statuses this page has
// seen, its lines and address, and its payment — "awaiting confirmation" for a manual
// payment, Stripe's Payment Element for a card payment.
import { useEffect, useRef, useState } from "preact/hooks";
import { OrderStatus } from "../../gen/mart/order/v1/order_pb.js";
import { type Payment, PaymentProvider, PaymentStatus } from "../../gen/mart/payment/v1/payment_pb.js";
import { formatMoney } from "../../lib/money.js";
import { type Problem, problemOf } from "../../lib/problems.js";
import { href } from "../../lib/route.js";
import { api, session } from "../api.js";
import { useLiveOrder } from "../live-order.js";
import { type StripeLike, loadStripeJs } from "../stripe.js";
import { FormError, Loading, useSignedIn } from "../../ui/ui.js";
import { addressLine } from "../addresses.js";
import { justPlaced } from "./checkout.js";

const LABELS: Record<OrderStatus, string> = {
  [OrderStatus.UNSPECIFIED]: "Unknown",
  [OrderStatus.PENDING]: "Pending",
  [OrderStatus.RESERVED]: "Reserved",
  [OrderStatus.AWAITING_PAYMENT]: "Awaiting payment",
  [OrderStatus.PAID]: "Paid",
  [OrderStatus.SHIPPED]: "Shipped",
  [OrderStatus.DELIVERED]: "Delivered",
  [OrderStatus.REJECTED]: "Rejected",
  [OrderStatus.CANCELLED]: "Cancelled",
};

export function statusLabel(status: OrderStatus): string {
  return LABELS[status] ?? OrderStatus[status] ?? String(status);
}

export function OrderPage({ id }: { id: string }) {
  const signedIn = useSignedIn(session);
  if (!signedIn)
    return (
      <main class="page">
        <p>
          <a href="#/signin">Sign in</a> to see this order.
        </p>
      </main>
    );
  return <LiveOrderView key={id} id={id} />;
}

function LiveOrderView({ id }: { id: string }) {
  const live = useLiveOrder(id, justPlaced.get(id));
  const order = live.order;
  if (!order) return <main class="page">{live.problem ? <FormError problem={live.problem} /> : <Loading what="your order" />}</main>;
  const status = OrderStatus[order.status] ?? "UNSPECIFIED";
  return (
    <main class="page order">
      <h1>Order {order.id.slice(-8)}</h1>
      <p class="status-line">
        Status:{" "}
        <strong class={`status ${status.toLowerCase()}`} data-status={status} aria-live="polite">
          {statusLabel(order.status)}
        </strong>
        <small class="hint" data-mode={live.mode}>
          {live.mode === "stream" ? " (live)" : live.mode === "polling" ? " (updating)" : ""}
        </small>
      </p>
      <ol class="timeline" aria-label="Progress seen">
        {live.seen.map((s, i) => (
          <li key={i} data-status={OrderStatus[s]}>
            {statusLabel(s)}
          </li>
        ))}
      </ol>
      {live.problem && <FormError problem={live.problem} />}
      {order.status === OrderStatus.REJECTED && (
        <p class="error banner">Some items were not in stock any more, so the order could not be placed.</p>
      )}
      {order.status === OrderStatus.CANCELLED && order.cancellationReason && <p>Cancelled: {order.cancellationReason}</p>}
      {order.shipment && order.shipment.trackingNumber && (
        <p>
          Shipped with {order.shipment.carrier}, tracking number {order.shipment.trackingNumber}.
        </p>
      )}
      <PaymentBox orderId={order.id} status={order.status} />
      {CANCELLABLE.has(order.status) && <CancelButton orderId={order.id} />}
      <h2>Items</h2>
      <ul class="summary-lines">
        {order.lines.map((l) => (
          <li key={l.variantId || l.productId}>
            {l.quantity} × <a href={href(["product", l.productId])}>{l.name}</a>
            {l.optionValues.length > 0 && ` (${l.optionValues.map((o) => `${o.name}: ${o.value}`).join(", ")})`} —{" "}
            {formatMoney(l.lineTotal)}
          </li>
        ))}
        <li class="subtotal">
          Total: <strong>{formatMoney(order.total)}</strong>
        </li>
      </ul>
      {order.shippingAddress && (
        <>
          <h2>Shipping to</h2>
          <p>{addressLine(order.shippingAddress)}</p>
        </>
      )}
    </main>
  );
}

/** Statuses a customer may cancel from (before it ships). */
const CANCELLABLE = new Set([OrderStatus.PENDING, OrderStatus.RESERVED, OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID]);

/** Cancels the order (a paid one is refunded); the live status then shows it. */
function CancelButton({ orderId }: { orderId: string }) {
  const [asked, setAsked] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem>();
  async function cancel() {
    setBusy(true);
    setProblem(undefined);
    try {
      await api.orders.cancelOrder({ orderId, reason: "cancelled by the customer" });
    } catch (error) {
      setProblem(problemOf(error));
      setBusy(false);
    }
  }
  return (
    <div class="cancel">
      <FormError problem={problem} />
      {asked ? (
        <p>
          Cancel this order?{" "}
          <button type="button" disabled={busy} onClick={() => void cancel()}>
            {busy ? "Cancelling…" : "Yes, cancel it"}
          </button>{" "}
          <button type="button" onClick={() => setAsked(false)}>
            Keep it
          </button>
        </p>
      ) : (
        <button type="button" onClick={() => setAsked(true)}>
          Cancel order
        </button>
      )}
    </div>
  );
}

/** Statuses at which the order has a payment worth showing. */
const HAS_PAYMENT = new Set([OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED]);

function PaymentBox({ orderId, status }: { orderId: string; status: OrderStatus }) {
  const [payment, setPayment] = useState<{ payment?: Payment; publishableKey: string }>();
  const [problem, setProblem] = useState<Problem>();
  useEffect(() => {
    if (!HAS_PAYMENT.has(status)) return;
    let live = true;
    api.payments.getPayment({ orderId }).then(
      (res) => live && setPayment({ payment: res.payment, publishableKey: res.publishableKey }),
      (error: unknown) => live && setProblem(problemOf(error)),
    );
    return () => {
      live = false;
    };
  }, [orderId, status]);

  if (!HAS_PAYMENT.has(status)) return null;
  if (problem) return <FormError problem={problem} />;
  const p = payment?.payment;
  if (!p) return <Loading what="the payment" />;
  return (
    <section class="payment" aria-labelledby="payment-h">
      <h2 id="payment-h">Payment</h2>
      <p>
        {formatMoney(p.amount)} — <span data-payment-status={PaymentStatus[p.status]}>{paymentText(p)}</span>
      </p>
      {p.provider === PaymentProvider.STRIPE && p.status === PaymentStatus.PENDING && p.clientSecret && (
        <StripeForm publishableKey={payment.publishableKey} clientSecret={p.clientSecret} />
      )}
      {p.provider === PaymentProvider.STRIPE && p.status === PaymentStatus.PENDING && !p.clientSecret && p.checkoutUrl && (
        <p>
          <a class="button primary" href={p.checkoutUrl}>
            Pay on Stripe
          </a>
        </p>
      )}
    </section>
  );
}

function paymentText(p: Payment): string {
  switch (p.status) {
    case PaymentStatus.SUCCEEDED:
      return "Paid";
    case PaymentStatus.REFUNDED:
      return "Refunded";
    case PaymentStatus.FAILED:
      return `Failed${p.statusReason ? `: ${p.statusReason}` : ""}`;
    case PaymentStatus.CANCELLED:
      return "Cancelled";
    default:
      return p.provider === PaymentProvider.MANUAL ? "Awaiting confirmation" : "Awaiting payment";
  }
}

function StripeForm({ publishableKey, clientSecret }: { publishableKey: string; clientSecret: string }) {
  const mount = useRef<HTMLDivElement>(null);
  const [stripe, setStripe] = useState<{ stripe: StripeLike; elements: ReturnType<StripeLike["elements"]> }>();
  const [failure, setFailure] = useState<string>();
  const [paying, setPaying] = useState(false);
  const [refused, setRefused] = useState<string>();

  useEffect(() => {
    let element: { destroy(): void } | undefined;
    let live = true;
    if (!publishableKey) {
      setFailure("the shop sent no Stripe publishable key");
      return;
    }
    loadStripeJs().then(
      () => {
        if (!live || !mount.current || !window.Stripe) return;
        const s = window.Stripe(publishableKey);
        const elements = s.elements({ clientSecret });
        const payment = elements.create("payment");
        payment.mount(mount.current);
        element = payment;
        setStripe({ stripe: s, elements });
      },
      (error: unknown) => live && setFailure(error instanceof Error ? error.message : String(error)),
    );
    return () => {
      live = false;
      element?.destroy();
    };
  }, [publishableKey, clientSecret]);

  async function pay(e: Event) {
    e.preventDefault();
    if (!stripe) return;
    setPaying(true);
    setRefused(undefined);
    const result = await stripe.stripe.confirmPayment({
      elements: stripe.elements,
      confirmParams: { return_url: window.location.href },
    });
    if (result.error) setRefused(result.error.message ?? "The payment was not accepted.");
    setPaying(false);
  }

  return (
    <form class="stripe" onSubmit={pay} data-client-secret={clientSecret}>
      {failure && (
        <p class="error banner" role="alert">
          The card form could not load: {failure}
        </p>
      )}
      <div ref={mount} class="stripe-element" />
      {refused && (
        <p class="error" role="alert">
          {refused}
        </p>
      )}
      {stripe && (
        <button type="submit" class="primary" disabled={paying}>
          {paying ? "Paying…" : "Pay now"}
        </button>
      )}
    </form>
  );
}
