// Stripe.js, loaded from Stripe only when an order is paid by card (the edge's CSP allows
// Stripe's origins then). Nothing here draws a card form of its own: if the script does
// not load, the page says so.
export const STRIPE_JS = "https://js.stripe.com/v3/";

interface StripeElement {
  mount(target: HTMLElement): void;
  destroy(): void;
}
interface StripeElements {
  create(kind: "payment"): StripeElement;
}
export interface StripeLike {
  elements(options: { clientSecret: string }): StripeElements;
  confirmPayment(options: {
    elements: StripeElements;
    confirmParams: { return_url: string };
  }): Promise<{ error?: { message?: string } }>;
}

declare global {
  interface Window {
    Stripe?: (publishableKey: string) => StripeLike;
  }
}

let loading: Promise<void> | undefined;

/** Adds Stripe's script once; rejects with why it did not load. */
export function loadStripeJs(): Promise<void> {
  if (window.Stripe) return Promise.resolve();
  loading ??= new Promise<void>((resolve, reject) => {
    const script = document.createElement("script");
    script.src = STRIPE_JS;
    script.async = true;
    script.onload = () => (window.Stripe ? resolve() : reject(new Error("Stripe.js loaded but did not start")));
    script.onerror = () => reject(new Error(`${STRIPE_JS} could not be reached`));
    document.head.append(script);
  }).catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}
