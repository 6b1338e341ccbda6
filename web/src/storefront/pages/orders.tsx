// The customer's orders, newest first, paged.
import { useState } from "preact/hooks";
import { formatMoney } from "../../lib/money.js";
import { href } from "../../lib/route.js";
import { api, session } from "../api.js";
import { Empty, FormError, Loading, useLoad, useSignedIn } from "../../ui/ui.js";
import { statusLabel } from "./order.js";

export function OrdersPage() {
  const signedIn = useSignedIn(session);
  const [tokens, setTokens] = useState<string[]>([""]);
  const pageToken = tokens[tokens.length - 1] ?? "";
  const [loaded] = useLoad(
    () => (signedIn ? api.orders.listOrders({ pageSize: 20, pageToken }) : Promise.resolve(undefined)),
    [signedIn, pageToken],
  );
  if (!signedIn)
    return (
      <main class="page">
        <p>
          <a href="#/signin">Sign in</a> to see your orders.
        </p>
      </main>
    );
  return (
    <main class="page">
      <h1>Your orders</h1>
      {loaded.state === "loading" && <Loading what="your orders" />}
      {loaded.state === "failed" && <FormError problem={loaded.problem} />}
      {loaded.state === "ok" && loaded.value && loaded.value.orders.length === 0 && <Empty>No orders yet.</Empty>}
      {loaded.state === "ok" && loaded.value && loaded.value.orders.length > 0 && (
        <>
          <ul class="orders">
            {loaded.value.orders.map((o) => (
              <li key={o.id}>
                <a href={href(["order", o.id])}>Order {o.id.slice(-8)}</a> — {statusLabel(o.status)} — {formatMoney(o.total)}
              </li>
            ))}
          </ul>
          <nav class="pager" aria-label="Pages">
            <button type="button" disabled={tokens.length <= 1} onClick={() => setTokens(tokens.slice(0, -1))}>
              Previous page
            </button>
            <button
              type="button"
              disabled={!loaded.value.nextPageToken}
              onClick={() => setTokens([...tokens, loaded.value!.nextPageToken])}
            >
              Next page
            </button>
          </nav>
        </>
      )}
    </main>
  );
}
