// The sales dashboard: GetSalesReport for a range of days (UTC) in one currency, drawn as
// a uPlot chart (revenue, and orders on their own axis), its totals, the numbers per day
// as a table for those who cannot see the chart, and the best-selling variants.
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import { Code } from "@connectrpc/connect";
import type { SalesDay } from "../../gen/mart/order/v1/order_pb.js";
import { formatMoney } from "../../lib/money.js";
import { Empty, FormError, Loading, useLoad } from "../../ui/ui.js";
import { api } from "../api.js";
import { Input, fractionDigits } from "../controls.js";

const DAY_MS = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function DashboardPage() {
  const today = Date.now();
  const [from, setFrom] = useState(isoDay(today - 29 * DAY_MS));
  const [to, setTo] = useState(isoDay(today));
  const [currency, setCurrency] = useState("USD");
  const [asked, setAsked] = useState({ from, to, currency });
  const [loaded, , reload] = useLoad(() => api.orders.getSalesReport({ ...asked, top: 10 }), [asked]);
  const problem = loaded.state === "failed" ? loaded.problem : undefined;

  return (
    <main class="page dashboard">
      <h1>Sales</h1>
      <form
        class="filters-row"
        aria-label="Report range"
        onSubmit={(e) => {
          e.preventDefault();
          if (asked.from === from && asked.to === to && asked.currency === currency) reload();
          else setAsked({ from, to, currency });
        }}
        noValidate
      >
        <Input label="From" name="from" type="date" value={from} onInput={setFrom} problem={problem} />
        <Input label="To" name="to" type="date" value={to} onInput={setTo} problem={problem} />
        <Input label="Currency" name="currency" value={currency} onInput={(c) => setCurrency(c.toUpperCase())} problem={problem} />
        <button type="submit" class="primary">Show</button>
      </form>
      {loaded.state === "loading" && <Loading what="the sales report" />}
      {problem && (
        <>
          <FormError problem={problem} shown={["from", "to", "currency"]} />
          {problem.code === Code.Unimplemented && <p class="hint">This server does not offer the sales report yet.</p>}
        </>
      )}
      {loaded.state === "ok" && (
        <>
          <dl class="totals" aria-label="Totals">
            <div>
              <dt>Revenue</dt>
              <dd data-testid="total-revenue">{formatMoney(loaded.value.totalRevenue) || "—"}</dd>
            </div>
            <div>
              <dt>Paid orders</dt>
              <dd data-testid="total-orders">{loaded.value.totalOrders}</dd>
            </div>
            <div>
              <dt>Range</dt>
              <dd>
                {loaded.value.from} – {loaded.value.to}
              </dd>
            </div>
          </dl>
          <section aria-labelledby="chart-h">
            <h2 id="chart-h">Revenue and orders per day</h2>
            {loaded.value.totalOrders === 0 && <Empty>No paid orders in this range.</Empty>}
            <SalesChart days={loaded.value.days} currency={asked.currency} />
            <details>
              <summary>The numbers per day</summary>
              <div class="table-wrap">
                <table aria-label="Sales per day">
                  <thead>
                    <tr>
                      <th scope="col">Day</th>
                      <th scope="col">Orders</th>
                      <th scope="col">Revenue</th>
                    </tr>
                  </thead>
                  <tbody>
                    {loaded.value.days.map((d) => (
                      <tr key={d.date}>
                        <td>{d.date}</td>
                        <td>{d.orders}</td>
                        <td>{formatMoney(d.revenue)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </details>
          </section>
          <section aria-labelledby="best-h">
            <h2 id="best-h">Best sellers</h2>
            {loaded.value.bestSellers.length === 0 ? (
              <Empty>Nothing sold in this range.</Empty>
            ) : (
              <div class="table-wrap">
                <table aria-label="Best sellers">
                  <thead>
                    <tr>
                      <th scope="col">Product</th>
                      <th scope="col">SKU</th>
                      <th scope="col">Units</th>
                      <th scope="col">Revenue</th>
                    </tr>
                  </thead>
                  <tbody>
                    {loaded.value.bestSellers.map((b) => (
                      <tr key={b.variantId}>
                        <td>
                          <a href={`#/product/${b.productId}`}>{b.name}</a>
                          {b.optionValues.length > 0 && <div class="hint">{b.optionValues.map((o) => `${o.name}: ${o.value}`).join(", ")}</div>}
                        </td>
                        <td>{b.sku}</td>
                        <td>{String(b.units)}</td>
                        <td>{formatMoney(b.revenue)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </>
      )}
    </main>
  );
}

const HEIGHT = 260;

function SalesChart({ days, currency }: { days: SalesDay[]; currency: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const scale = 10 ** fractionDigits(currency);
    const money = new Intl.NumberFormat(undefined, { style: "currency", currency, maximumFractionDigits: 0 });
    const data: uPlot.AlignedData = [
      days.map((d) => Date.parse(`${d.date}T00:00:00Z`) / 1000),
      days.map((d) => Number(d.revenue?.amountMinor ?? 0n) / scale),
      days.map((d) => d.orders),
    ];
    const options: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height: HEIGHT,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: { x: { time: true }, revenue: { range: (_u, _min, max) => [0, Math.max(max, 1)] }, orders: { range: (_u, _min, max) => [0, Math.max(max, 1)] } },
      series: [
        {},
        { label: "Revenue", scale: "revenue", stroke: "#0b5cad", fill: "rgba(11,92,173,0.12)", width: 2, value: (_u, v) => (v == null ? "—" : money.format(v)) },
        { label: "Orders", scale: "orders", stroke: "#1e7b34", width: 2, dash: [6, 4], value: (_u, v) => (v == null ? "—" : String(v)) },
      ],
      axes: [
        {},
        { scale: "revenue", values: (_u, ticks) => ticks.map((t) => money.format(t)), size: 70 },
        { scale: "orders", side: 1, grid: { show: false }, values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? String(t) : "")) },
      ],
    };
    const chart = new uPlot(options, data, el);
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(el.clientWidth, 200), height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [days, currency]);
  return (
    <div
      ref={box}
      class="chart"
      data-testid="sales-chart"
      role="img"
      aria-label={`Revenue and paid orders per day, ${days[0]?.date ?? ""} to ${days[days.length - 1]?.date ?? ""}`}
    />
  );
}
