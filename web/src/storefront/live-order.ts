// An order that stays current while its page is open: OrderService.WatchOrder (server
// streaming over grpc-web), or — when the server lacks it or the stream keeps failing —
// GetOrder once a second, until the order reaches a final state.
import { useEffect, useState } from "preact/hooks";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Order, OrderStatus } from "../gen/mart/order/v1/order_pb.js";
import { type Problem, problemOf } from "../lib/problems.js";
import { api } from "./api.js";

const FINAL = new Set([OrderStatus.DELIVERED, OrderStatus.REJECTED, OrderStatus.CANCELLED]);
const POLL_MS = 1000;

export interface LiveOrder {
  order: Order | undefined;
  /** Every status this page has shown, in order (the page's own timeline). */
  seen: OrderStatus[];
  /** How updates arrive: "stream", "polling", or "done" once final. */
  mode: "stream" | "polling" | "done";
  problem: Problem | undefined;
}

export function useLiveOrder(id: string, initial: Order | undefined): LiveOrder {
  const [state, setState] = useState<LiveOrder>({
    order: initial,
    seen: initial ? [initial.status] : [],
    mode: "polling",
    problem: undefined,
  });

  useEffect(() => {
    const stop = new AbortController();
    const show = (order: Order, mode: LiveOrder["mode"]) =>
      setState((s) => ({
        order,
        seen: s.seen[s.seen.length - 1] === order.status ? s.seen : [...s.seen, order.status],
        mode: FINAL.has(order.status) ? "done" : mode,
        problem: undefined,
      }));

    async function poll(): Promise<void> {
      setState((s) => ({ ...s, mode: "polling" }));
      while (!stop.signal.aborted) {
        try {
          const { order } = await api.orders.getOrder({ orderId: id }, { signal: stop.signal });
          if (order) {
            show(order, "polling");
            if (FINAL.has(order.status)) return;
          }
        } catch (error) {
          if (stop.signal.aborted) return;
          setState((s) => ({ ...s, problem: problemOf(error) }));
        }
        await sleep(POLL_MS, stop.signal);
      }
    }

    // The stream is cut now and then (the edge's deadline, a proxy, a network change):
    // reopen it at once, since it starts with the order as it is now. Only a server
    // without WatchOrder, or one failing three times in a row, leaves us polling.
    async function run(): Promise<void> {
      let failures = 0;
      while (failures < 3 && !stop.signal.aborted) {
        setState((s) => ({ ...s, mode: "stream" }));
        let last: Order | undefined;
        try {
          for await (const { order } of api.orders.watchOrder({ orderId: id }, { signal: stop.signal })) {
            if (order) show((last = order), "stream");
            failures = 0;
          }
          if (last && FINAL.has(last.status)) return;
          if (!last) {
            failures++;
            await sleep(POLL_MS * failures, stop.signal);
          }
        } catch (error) {
          if (stop.signal.aborted) return;
          const code = ConnectError.from(error).code;
          if (code === Code.Unimplemented) break;
          if (code === Code.NotFound || code === Code.PermissionDenied || code === Code.Unauthenticated) {
            setState((s) => ({ ...s, problem: problemOf(error) }));
            return;
          }
          failures++;
          await sleep(POLL_MS * failures, stop.signal);
        }
      }
      await poll();
    }

    void run();
    return () => stop.abort();
  }, [id]);

  return state;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });
}
