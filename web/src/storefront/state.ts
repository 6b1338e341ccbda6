// What several pages share: the cart's item count (shown in the header) and an
// "add to cart" a signed-out visitor asked for, done once they have signed in.
import { useEffect, useState } from "preact/hooks";
import type { Cart } from "../gen/mart/order/v1/order_pb.js";
import { api, session } from "./api.js";

type Listener = () => void;

class Store<T> {
  private listeners = new Set<Listener>();
  constructor(private current: T) {}
  get(): T {
    return this.current;
  }
  set(value: T): void {
    this.current = value;
    for (const l of this.listeners) l();
  }
  use(): T {
    const [, tick] = useState(0);
    useEffect(() => {
      const l = () => tick((n) => n + 1);
      this.listeners.add(l);
      return () => void this.listeners.delete(l);
    }, []);
    return this.current;
  }
}

/** Items in the signed-in customer's cart; 0 when signed out. */
export const cartCount = new Store(0);

export function noteCart(cart: Cart | undefined): void {
  cartCount.set(cart?.itemCount ?? 0);
}

export async function refreshCartCount(): Promise<void> {
  if (!session.signedIn) return cartCount.set(0);
  try {
    noteCart((await api.orders.getCart({})).cart);
  } catch {
    // The header count is a convenience; the cart page shows the real error.
  }
}

/** An add-to-cart waiting for the visitor to sign in. */
export interface PendingAdd {
  variantId: string;
  quantity: number;
  /** Where to go once added. */
  next: string;
}

export const pendingAdd = new Store<PendingAdd | undefined>(undefined);
