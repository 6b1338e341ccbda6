// The cart: lines with their current prices, quantities to change, lines to remove, and
// the way to checkout.
import { useState } from "preact/hooks";
import type { Cart, CartLine } from "../../gen/mart/order/v1/order_pb.js";
import { formatMoney } from "../../lib/money.js";
import { type Problem, problemOf } from "../../lib/problems.js";
import { href } from "../../lib/route.js";
import { api, session } from "../api.js";
import { noteCart } from "../state.js";
import { Empty, FormError, Loading, useId, useLoad, useSignedIn } from "../../ui/ui.js";

export function CartPage() {
  const signedIn = useSignedIn(session);
  if (!signedIn)
    return (
      <main class="page">
        <h1>Your cart</h1>
        <p>
          <a href="#/signin">Sign in</a> or <a href="#/signin?mode=register">create an account</a> to use the cart.
        </p>
      </main>
    );
  return <SignedInCart />;
}

function SignedInCart() {
  const [loaded, setCart] = useLoad(async () => {
    const cart = (await api.orders.getCart({})).cart;
    noteCart(cart);
    return cart;
  }, []);
  const [problem, setProblem] = useState<Problem>();

  async function change(run: () => Promise<{ cart?: Cart }>) {
    setProblem(undefined);
    try {
      const { cart } = await run();
      noteCart(cart);
      setCart(cart);
    } catch (error) {
      setProblem(problemOf(error));
    }
  }

  return (
    <main class="page cart">
      <h1>Your cart</h1>
      {loaded.state === "loading" && <Loading what="your cart" />}
      {loaded.state === "failed" && <FormError problem={loaded.problem} />}
      <FormError problem={problem} />
      {loaded.state === "ok" && (!loaded.value || loaded.value.lines.length === 0) && (
        <Empty>
          Your cart is empty. <a href="#/">Browse the shop</a>
        </Empty>
      )}
      {loaded.state === "ok" && loaded.value && loaded.value.lines.length > 0 && (
        <>
          <ul class="lines">
            {loaded.value.lines.map((line) => (
              <Line
                key={line.variantId || line.productId}
                line={line}
                onQuantity={(quantity) =>
                  change(() => api.orders.updateCartItem({ productId: line.variantId || line.productId, quantity }))
                }
                onRemove={() => change(() => api.orders.removeCartItem({ productId: line.variantId || line.productId }))}
              />
            ))}
          </ul>
          <p class="subtotal">
            Subtotal ({loaded.value.itemCount} {loaded.value.itemCount === 1 ? "item" : "items"}):{" "}
            <strong>{formatMoney(loaded.value.subtotal)}</strong>
          </p>
          <a class="button primary" href="#/checkout">
            Checkout
          </a>
        </>
      )}
    </main>
  );
}

function Line({
  line,
  onQuantity,
  onRemove,
}: {
  line: CartLine;
  onQuantity: (quantity: number) => Promise<void>;
  onRemove: () => Promise<void>;
}) {
  const id = useId("qty");
  const [quantity, setQuantity] = useState(String(line.quantity));
  const options = line.optionValues.map((o) => `${o.name}: ${o.value}`).join(", ");
  return (
    <li class="line">
      {line.imageUrl ? <img src={line.imageUrl} alt="" width={64} height={64} /> : <div class="no-image small" />}
      <div class="line-text">
        <a href={href(["product", line.productId])}>{line.name}</a>
        {options && <span class="options">{options}</span>}
        <span>{formatMoney(line.unitPrice)} each</span>
      </div>
      <form
        class="qty"
        onSubmit={(e) => {
          e.preventDefault();
          void onQuantity(Number.parseInt(quantity, 10) || 0);
        }}
      >
        <label for={id}>Quantity</label>
        <input id={id} type="number" min={0} max={99} value={quantity} onInput={(e) => setQuantity(e.currentTarget.value)} />
        <button type="submit">Update</button>
      </form>
      <span class="line-total">{formatMoney(line.lineTotal)}</span>
      <button type="button" class="link" onClick={() => void onRemove()} aria-label={`Remove ${line.name}`}>
        Remove
      </button>
    </li>
  );
}
