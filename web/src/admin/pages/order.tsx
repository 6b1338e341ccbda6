// One order and what its state allows: confirm a manual payment (awaiting payment), ship
// with carrier and tracking number (paid), mark delivered (shipped), cancel (before
// shipping), refund (a succeeded payment with money left). The status follows the order
// live, since payment and stock work happens in other services after each action.
import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Code } from "@connectrpc/connect";
import { type Order, OrderStatus } from "../../gen/mart/order/v1/order_pb.js";
import { type Payment, PaymentProvider, PaymentStatus, RefundStatus } from "../../gen/mart/payment/v1/payment_pb.js";
import { formatMoney } from "../../lib/money.js";
import { type Problem, problemOf } from "../../lib/problems.js";
import { Field, FormError, Loading, useLoad } from "../../ui/ui.js";
import { api } from "../api.js";
import { Input, at, enumLabel, formatTime, parseAmount, shortId, violations } from "../controls.js";
import { useWatchedOrder } from "../live.js";
import { StatusBadge } from "./orders.js";

export function OrderPage({ id }: { id: string }) {
  const { order, problem, show } = useWatchedOrder(id);
  const [payment, setPayment] = useState<Payment>();
  const [paymentProblem, setPaymentProblem] = useState<Problem>();
  const [paymentRound, setPaymentRound] = useState(0);

  // The payment changes with the order (opened, succeeded, refunded): reload it then.
  useEffect(() => {
    if (!order) return;
    let live = true;
    api.payments.getPayment({ orderId: id }).then(
      (r) => live && (setPayment(r.payment), setPaymentProblem(undefined)),
      (error: unknown) => {
        if (!live) return;
        const p = problemOf(error);
        setPayment(undefined);
        setPaymentProblem(p.code === Code.NotFound ? undefined : p);
      },
    );
    return () => {
      live = false;
    };
  }, [id, order?.status, order?.refunded?.amountMinor, paymentRound]);

  if (!order)
    return (
      <main class="page">
        <p><a href="#/orders">← Orders</a></p>
        {problem ? <FormError problem={problem} /> : <Loading what="the order" />}
      </main>
    );

  const a = order.shippingAddress;
  return (
    <main class="page order-admin">
      <p><a href="#/orders">← Orders</a></p>
      <h1>Order {shortId(order.id)}</h1>
      <p class="status-line" aria-live="polite">
        Status: <StatusBadge status={order.status} />
      </p>
      {problem && <FormError problem={problem} />}
      <div class="grid2">
        <section class="panel" aria-labelledby="lines-h">
          <h2 id="lines-h">Items</h2>
          <ul class="plain">
            {order.lines.map((l) => (
              <li key={l.variantId}>
                {l.quantity} × {l.name}
                {l.optionValues.length > 0 && <span class="hint"> ({l.optionValues.map((o) => `${o.name}: ${o.value}`).join(", ")})</span>}{" "}
                <span class="hint">{l.sku}</span> — {formatMoney(l.lineTotal)}
              </li>
            ))}
          </ul>
          <p>
            Total <strong>{formatMoney(order.total)}</strong>
            {order.refunded && order.refunded.amountMinor > 0n && <> · refunded {formatMoney(order.refunded)}</>}
          </p>
          {order.note && <p>Note: {order.note}</p>}
        </section>
        <section class="panel" aria-labelledby="facts-h">
          <h2 id="facts-h">Details</h2>
          <dl class="facts">
            <dt>Customer</dt>
            <dd>
              <Customer id={order.userId} />
            </dd>
            <dt>Placed</dt><dd>{formatTime(order.createdAt)}</dd>
            {order.paidAt && (<><dt>Paid</dt><dd>{formatTime(order.paidAt)}</dd></>)}
            {a && (<><dt>Ship to</dt><dd>{[a.line1, a.line2, `${a.postalCode} ${a.city}`, a.country].filter(Boolean).join(", ")}</dd></>)}
            {order.shipment && (
              <>
                <dt>Shipment</dt>
                <dd data-testid="shipment">
                  {order.shipment.carrier} {order.shipment.trackingNumber && <>· tracking {order.shipment.trackingNumber}</>} · {formatTime(order.shipment.shippedAt)}
                </dd>
              </>
            )}
            {order.status === OrderStatus.CANCELLED && (<><dt>Cancelled</dt><dd>{enumLabel(cancelled(order))}{order.cancellationReason ? `: ${order.cancellationReason}` : ""}</dd></>)}
            {order.rejectedLines.length > 0 && (<><dt>Rejected</dt><dd>{order.rejectedLines.map((r) => `${r.requested} wanted, ${r.available} available`).join("; ")}</dd></>)}
          </dl>
        </section>
      </div>
      <PaymentPanel payment={payment} problem={paymentProblem} />
      <section aria-labelledby="actions-h">
        <h2 id="actions-h">Actions</h2>
        <Actions order={order} payment={payment} onOrder={show} onPayment={() => setPaymentRound((n) => n + 1)} />
      </section>
    </main>
  );
}

/** Who placed the order: their email and name (GetUser), linking to all their orders. */
function Customer({ id }: { id: string }) {
  const [user] = useLoad(() => api.users.getUser({ userId: id }).then((r) => r.user), [id]);
  const name = user.state === "ok" && user.value ? `${user.value.email} (${`${user.value.firstName} ${user.value.lastName}`.trim() || "no name"})` : id;
  return <a href={`#/orders?user=${id}`}>{name}</a>;
}

function cancelled(order: Order): string {
  const names = ["", "by the customer", "by an admin", "payment expired", "payment failed", "refunded"];
  return names[order.cancellationSource] ?? "";
}

function PaymentPanel({ payment, problem }: { payment: Payment | undefined; problem: Problem | undefined }) {
  return (
    <section class="panel" aria-labelledby="payment-h">
      <h2 id="payment-h">Payment</h2>
      {problem && <FormError problem={problem} />}
      {!payment && !problem && <p class="empty">No payment yet (one opens once the order is reserved).</p>}
      {payment && (
        <dl class="facts">
          <dt>Provider</dt><dd>{enumLabel(PaymentProvider[payment.provider])}</dd>
          <dt>Status</dt><dd data-testid="payment-status">{enumLabel(PaymentStatus[payment.status])}</dd>
          <dt>Amount</dt><dd>{formatMoney(payment.amount)}</dd>
          {payment.providerReference && (<><dt>Reference</dt><dd>{payment.providerReference}</dd></>)}
          {payment.refunded && payment.refunded.amountMinor > 0n && (<><dt>Refunded</dt><dd>{formatMoney(payment.refunded)}</dd></>)}
          {payment.refunds.map((r) => (
            <Fragment key={r.id}>
              <dt>Refund</dt>
              <dd>
                {formatMoney(r.amount)} · {enumLabel(RefundStatus[r.status])}
                {r.reason ? ` · ${r.reason}` : ""}
              </dd>
            </Fragment>
          ))}
        </dl>
      )}
    </section>
  );
}

const CANCELLABLE = new Set([OrderStatus.PENDING, OrderStatus.RESERVED, OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID]);

function Actions(props: { order: Order; payment: Payment | undefined; onOrder: (o: Order) => void; onPayment: () => void }) {
  const { order, payment } = props;
  const manualPending =
    order.status === OrderStatus.AWAITING_PAYMENT && payment?.provider === PaymentProvider.MANUAL && payment.status === PaymentStatus.PENDING;
  const refundable =
    payment?.status === PaymentStatus.SUCCEEDED && (payment.amount?.amountMinor ?? 0n) > (payment.refunded?.amountMinor ?? 0n);
  const forms = [
    manualPending && <ConfirmForm key="confirm" order={order} onDone={props.onPayment} />,
    order.status === OrderStatus.PAID && <ShipForm key="ship" order={order} onDone={props.onOrder} />,
    order.status === OrderStatus.SHIPPED && <DeliverForm key="deliver" order={order} onDone={props.onOrder} />,
    refundable && payment && <RefundForm key="refund" order={order} payment={payment} onDone={props.onPayment} />,
    CANCELLABLE.has(order.status) && <CancelForm key="cancel" order={order} onDone={props.onOrder} />,
  ].filter(Boolean);
  if (forms.length === 0) return <p class="empty">Nothing to do: the order is {enumLabel(OrderStatus[order.status]).toLowerCase()}.</p>;
  return <div class="action-forms">{forms}</div>;
}

function useSubmit<T>(call: () => Promise<T>, onDone: (value: T) => void) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem>();
  const [errors, setErrors] = useState<Record<string, string>>({});
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setProblem(undefined);
    setErrors({});
    try {
      onDone(await call());
    } catch (error) {
      setProblem(problemOf(error));
      setErrors(violations(error));
    } finally {
      setBusy(false);
    }
  }
  return { busy, problem, errors, submit };
}

function ConfirmForm({ order, onDone }: { order: Order; onDone: () => void }) {
  const [reference, setReference] = useState("");
  const s = useSubmit(() => api.payments.confirmManualPayment({ orderId: order.id, reference }), onDone);
  return (
    <form class="panel" onSubmit={s.submit} noValidate aria-label="Confirm payment">
      <h3>Confirm the manual payment</h3>
      <Field label="Payment reference" name="reference" value={reference} onInput={setReference} problem={s.problem} hint="e.g. a bank transfer reference, or cash" />
      <button type="submit" class="primary" disabled={s.busy}>Confirm payment</button>
      <FormError problem={s.problem} shown={["reference"]} />
    </form>
  );
}

function ShipForm({ order, onDone }: { order: Order; onDone: (o: Order) => void }) {
  const [carrier, setCarrier] = useState("");
  const [tracking, setTracking] = useState("");
  const s = useSubmit(
    () => api.orders.shipOrder({ orderId: order.id, carrier, trackingNumber: tracking }).then((r) => r.order!),
    onDone,
  );
  return (
    <form class="panel" onSubmit={s.submit} noValidate aria-label="Ship order">
      <h3>Ship</h3>
      <Field label="Carrier" name="carrier" value={carrier} onInput={setCarrier} problem={s.problem} required hint="e.g. DHL" />
      <Field label="Tracking number" name="tracking_number" value={tracking} onInput={setTracking} problem={s.problem} />
      <button type="submit" class="primary" disabled={s.busy}>Mark shipped</button>
      <FormError problem={s.problem} shown={["carrier", "tracking_number"]} />
    </form>
  );
}

function DeliverForm({ order, onDone }: { order: Order; onDone: (o: Order) => void }) {
  const s = useSubmit(() => api.orders.deliverOrder({ orderId: order.id }).then((r) => r.order!), onDone);
  return (
    <form class="panel" onSubmit={s.submit} noValidate aria-label="Deliver order">
      <h3>Delivery</h3>
      <button type="submit" class="primary" disabled={s.busy}>Mark delivered</button>
      <FormError problem={s.problem} />
    </form>
  );
}

function CancelForm({ order, onDone }: { order: Order; onDone: (o: Order) => void }) {
  const [reason, setReason] = useState("");
  const s = useSubmit(() => api.orders.cancelOrder({ orderId: order.id, reason }).then((r) => r.order!), onDone);
  return (
    <form class="panel" onSubmit={s.submit} noValidate aria-label="Cancel order">
      <h3>Cancel</h3>
      <Field label="Reason for cancelling" name="reason" value={reason} onInput={setReason} problem={s.problem} hint={order.status === OrderStatus.PAID ? "The payment is refunded." : "Reserved stock is released."} />
      <button type="submit" class="danger" disabled={s.busy}>Cancel order</button>
      <FormError problem={s.problem} shown={["reason"]} />
    </form>
  );
}

function RefundForm({ order, payment, onDone }: { order: Order; payment: Payment; onDone: () => void }) {
  const [reason, setReason] = useState("");
  const [amount, setAmount] = useState("");
  const currency = payment.amount?.currency ?? "USD";
  const s = useSubmit(
    () =>
      api.payments.refundPayment({
        orderId: order.id,
        reason,
        amount: amount.trim() ? { amountMinor: parseAmount(amount, currency) ?? -1n, currency } : undefined,
      }),
    onDone,
  );
  return (
    <form class="panel" onSubmit={s.submit} noValidate aria-label="Refund payment">
      <h3>Refund</h3>
      <Field label="Reason for the refund" name="reason" value={reason} onInput={setReason} problem={s.problem} />
      <Input label="Amount to refund" name="amount" inputMode="decimal" value={amount} onInput={setAmount} error={at(s.errors, "amount")} hint="Empty: all that is left (a full refund)" />
      <button type="submit" class="danger" disabled={s.busy}>Refund payment</button>
      <FormError problem={s.problem} shown={["reason", "amount", "amount_minor", "currency"]} />
    </form>
  );
}
