// Checkout: pick (or add) a shipping address and place the order. Each attempt has one
// idempotency key (PlaceOrder's `request_id`): a double click or a retry after a lost
// answer returns the same order; a new key is drawn only after a definite refusal.
import { useRef, useState } from "preact/hooks";
import { Code } from "@connectrpc/connect";
import type { Order } from "../../gen/mart/order/v1/order_pb.js";
import { formatMoney } from "../../lib/money.js";
import { newRequestId } from "../../lib/ids.js";
import { type Problem, problemOf } from "../../lib/problems.js";
import { href } from "../../lib/route.js";
import { api, session } from "../api.js";
import { noteCart } from "../state.js";
import { Empty, FormError, Loading, useLoad, useSignedIn } from "../../ui/ui.js";
import { AddAddress, addressLine } from "../addresses.js";

/** The order PlaceOrder just returned, so its page shows it before the first fetch. */
export const justPlaced = new Map<string, Order>();

/** Errors after which the server may or may not have placed the order: retry with the same key. */
const UNCERTAIN = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.Unknown, Code.Internal, Code.Canceled]);

export function CheckoutPage() {
  const signedIn = useSignedIn(session);
  if (!signedIn)
    return (
      <main class="page">
        <h1>Checkout</h1>
        <p>
          <a href="#/signin">Sign in</a> to check out.
        </p>
      </main>
    );
  return <Checkout />;
}

function Checkout() {
  const [addresses, setAddresses] = useLoad(async () => (await api.users.listAddresses({})).addresses, []);
  const [cart] = useLoad(async () => (await api.orders.getCart({})).cart, []);
  const [chosen, setChosen] = useState<string>();
  const [requestId, setRequestId] = useState(newRequestId);
  const [placing, setPlacing] = useState(false);
  // Set at once, before the re-render that disables the button: a second click in the
  // same frame sees it.
  const inFlight = useRef(false);
  const [problem, setProblem] = useState<Problem>();

  const list = addresses.state === "ok" ? addresses.value : [];
  const addressId = chosen ?? list[0]?.id;

  async function place(e: Event) {
    e.preventDefault();
    if (inFlight.current || !addressId) return;
    inFlight.current = true;
    setPlacing(true);
    setProblem(undefined);
    try {
      const { order } = await api.orders.placeOrder({ addressId, requestId });
      if (!order) throw new Error("the shop answered without the order");
      justPlaced.set(order.id, order);
      noteCart(undefined);
      window.location.hash = href(["order", order.id]);
    } catch (error) {
      const p = problemOf(error);
      setProblem(p);
      if (!UNCERTAIN.has(p.code)) setRequestId(newRequestId());
      inFlight.current = false;
      setPlacing(false);
    }
  }

  return (
    <main class="page checkout">
      <h1>Checkout</h1>
      <section aria-labelledby="ship-to">
        <h2 id="ship-to">Ship to</h2>
        {addresses.state === "loading" && <Loading what="your addresses" />}
        {addresses.state === "failed" && <FormError problem={addresses.problem} />}
        {addresses.state === "ok" && list.length === 0 && <Empty>You have no saved address yet: add one below.</Empty>}
        {list.length > 0 && (
          <fieldset class="addresses">
            <legend>Shipping address</legend>
            {list.map((a) => (
              <label key={a.id} class="address">
                <input type="radio" name="address" value={a.id} checked={addressId === a.id} onChange={() => setChosen(a.id)} />
                <span>{addressLine(a)}</span>
              </label>
            ))}
          </fieldset>
        )}
        <AddAddress
          startOpen={addresses.state === "ok" && list.length === 0}
          onAdded={(a) => {
            setAddresses([...list, a]);
            setChosen(a.id);
          }}
        />
      </section>
      <section aria-labelledby="summary">
        <h2 id="summary">Order</h2>
        {cart.state === "loading" && <Loading what="your cart" />}
        {cart.state === "ok" && (!cart.value || cart.value.lines.length === 0) && (
          <Empty>
            Your cart is empty. <a href="#/">Browse the shop</a>
          </Empty>
        )}
        {cart.state === "ok" && cart.value && cart.value.lines.length > 0 && (
          <ul class="summary-lines">
            {cart.value.lines.map((l) => (
              <li key={l.variantId || l.productId}>
                {l.quantity} × {l.name}
                {l.optionValues.length > 0 && ` (${l.optionValues.map((o) => o.value).join(", ")})`} —{" "}
                {formatMoney(l.lineTotal)}
              </li>
            ))}
            <li class="subtotal">
              Subtotal: <strong>{formatMoney(cart.value.subtotal)}</strong>
            </li>
          </ul>
        )}
        <form onSubmit={place}>
          <FormError problem={problem} />
          <button type="submit" class="primary" disabled={placing || !addressId}>
            {placing ? "Placing your order…" : "Place order"}
          </button>
          {!addressId && addresses.state === "ok" && <p class="hint">Add a shipping address first.</p>}
        </form>
      </section>
    </main>
  );
}
