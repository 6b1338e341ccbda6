// An order kept current on its admin page: WatchOrder's stream (the order now, then on
// every change), reopened when cut; GetOrder every two seconds when the server lacks it.
import { useEffect, useState } from "preact/hooks";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Order, OrderStatus } from "../gen/mart/order/v1/order_pb.js";
import { type Problem, problemOf } from "../lib/problems.js";
import { api } from "./api.js";

const FINAL = new Set([OrderStatus.DELIVERED, OrderStatus.REJECTED, OrderStatus.CANCELLED]);

export function useWatchedOrder(id: string): { order: Order | undefined; problem: Problem | undefined; show: (o: Order) => void } {
  const [order, setOrder] = useState<Order>();
  const [problem, setProblem] = useState<Problem>();

  useEffect(() => {
    const stop = new AbortController();
    const wait = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
    async function run() {
      let failures = 0;
      let streaming = true;
      while (!stop.signal.aborted && failures < 5) {
        try {
          if (streaming) {
            for await (const { order: o } of api.orders.watchOrder({ orderId: id }, { signal: stop.signal })) {
              if (o) setOrder(o);
              setProblem(undefined);
              failures = 0;
              if (o && FINAL.has(o.status)) return;
            }
          } else {
            const { order: o } = await api.orders.getOrder({ orderId: id }, { signal: stop.signal });
            if (o) setOrder(o);
            if (o && FINAL.has(o.status)) return;
            await wait(2000);
          }
        } catch (error) {
          if (stop.signal.aborted) return;
          const code = ConnectError.from(error).code;
          if (code === Code.Unimplemented) streaming = false;
          else if (code === Code.NotFound || code === Code.PermissionDenied || code === Code.Unauthenticated) {
            setProblem(problemOf(error));
            return;
          } else {
            failures++;
            setProblem(problemOf(error));
            await wait(1000 * failures);
          }
        }
      }
    }
    void run();
    return () => stop.abort();
  }, [id]);

  return { order, problem, show: setOrder };
}
