// Every order, newest first, filtered by status and customer, paged.
import { useState } from "preact/hooks";
import { OrderStatus } from "../../gen/mart/order/v1/order_pb.js";
import { formatMoney } from "../../lib/money.js";
import { href } from "../../lib/route.js";
import { Empty, FormError, Loading, useLoad } from "../../ui/ui.js";
import { api } from "../api.js";
import { Input, SelectField, enumLabel, formatTime, shortId } from "../controls.js";

export const STATUSES = [
  OrderStatus.PENDING,
  OrderStatus.RESERVED,
  OrderStatus.AWAITING_PAYMENT,
  OrderStatus.PAID,
  OrderStatus.SHIPPED,
  OrderStatus.DELIVERED,
  OrderStatus.REJECTED,
  OrderStatus.CANCELLED,
];

export const statusName = (s: OrderStatus) => OrderStatus[s] ?? "UNSPECIFIED";

export function StatusBadge({ status }: { status: OrderStatus }) {
  const name = statusName(status);
  return (
    <strong class={`status ${name.toLowerCase()}`} data-status={name}>
      {enumLabel(name)}
    </strong>
  );
}

export function OrdersPage({ query }: { query: URLSearchParams }) {
  const status = query.get("status") ?? "";
  const user = query.get("user") ?? "";
  const [userText, setUserText] = useState(user);
  const [tokens, setTokens] = useState<string[]>([""]);
  const pageToken = tokens[tokens.length - 1] ?? "";
  const [loaded, , reload] = useLoad(
    () =>
      api.orders.listAllOrders({
        status: status ? (OrderStatus[status as keyof typeof OrderStatus] as OrderStatus) : OrderStatus.UNSPECIFIED,
        userId: user,
        pageSize: 20,
        pageToken,
      }),
    [status, user, pageToken],
  );

  function go(next: { status?: string; user?: string }) {
    setTokens([""]);
    const params: Record<string, string> = {};
    const s = next.status ?? status;
    const u = next.user ?? user;
    if (s) params.status = s;
    if (u) params.user = u;
    window.location.hash = href(["orders"], params);
  }

  return (
    <main class="page">
      <h1>Orders</h1>
      <form
        class="filters-row"
        onSubmit={(e) => {
          e.preventDefault();
          go({ user: userText.trim() });
        }}
        aria-label="Filter orders"
      >
        <SelectField
          label="Status"
          name="status"
          value={status}
          onChange={(s) => go({ status: s })}
          options={[["", "Any status"], ...STATUSES.map((s) => [statusName(s), enumLabel(statusName(s))] as const)]}
        />
        <Input label="Customer (user id)" name="user_id" value={userText} onInput={setUserText} error={loaded.state === "failed" ? loaded.problem.fields.user_id : undefined} />
        <button type="submit">Filter</button>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </form>
      {loaded.state === "loading" && <Loading what="orders" />}
      {loaded.state === "failed" && <FormError problem={loaded.problem} shown={["user_id"]} />}
      {loaded.state === "ok" && loaded.value.orders.length === 0 && <Empty>{status || user ? "No orders match." : "No orders yet."}</Empty>}
      {loaded.state === "ok" && loaded.value.orders.length > 0 && (
        <>
          <div class="table-wrap">
            <table class="stack" aria-label="Orders">
              <thead>
                <tr>
                  <th scope="col">Order</th>
                  <th scope="col">Placed</th>
                  <th scope="col">Customer</th>
                  <th scope="col">Items</th>
                  <th scope="col">Total</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {loaded.value.orders.map((o) => (
                  <tr key={o.id} data-order-id={o.id}>
                    <td data-label="Order">
                      <a href={href(["order", o.id])}>Order {shortId(o.id)}</a>
                    </td>
                    <td data-label="Placed">{formatTime(o.createdAt)}</td>
                    <td data-label="Customer">
                      <a href={href(["orders"], { user: o.userId })} title={o.userId}>
                        {shortId(o.userId)}
                      </a>
                    </td>
                    <td data-label="Items">{o.lines.reduce((n, l) => n + l.quantity, 0)}</td>
                    <td data-label="Total">{formatMoney(o.total)}</td>
                    <td data-label="Status">
                      <StatusBadge status={o.status} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav class="pager" aria-label="Pages">
            <button type="button" disabled={tokens.length <= 1} onClick={() => setTokens(tokens.slice(0, -1))}>
              Previous page
            </button>
            <span>Page {tokens.length}</span>
            <button type="button" disabled={!loaded.value.nextPageToken} onClick={() => setTokens([...tokens, loaded.value.nextPageToken])}>
              Next page
            </button>
          </nav>
        </>
      )}
    </main>
  );
}
