// The storefront's frame: header with navigation, and the page the hash names.
import { useEffect, useState } from "preact/hooks";
import { type Route, parseHash } from "../lib/route.js";
import { session, signOut } from "./api.js";
import { cartCount } from "./state.js";
import { useSignedIn } from "../ui/ui.js";
import { CatalogPage } from "./pages/catalog.js";
import { ProductPage } from "./pages/product.js";
import { CartPage } from "./pages/cart.js";
import { SignInPage } from "./pages/signin.js";
import { CheckoutPage } from "./pages/checkout.js";
import { OrderPage } from "./pages/order.js";
import { OrdersPage } from "./pages/orders.js";
import { InboxPage } from "./pages/inbox.js";
import { AccountPage } from "./pages/account.js";

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const onChange = () => {
      setRoute(parseHash(window.location.hash));
      window.scrollTo(0, 0);
    };
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

function Page({ route }: { route: Route }) {
  const [first, id] = route.parts;
  switch (first) {
    case undefined:
      return <CatalogPage query={route.query} />;
    case "product":
      return <ProductPage id={id ?? ""} />;
    case "cart":
      return <CartPage />;
    case "signin":
      return <SignInPage mode={route.query.get("mode") === "register" ? "register" : "signin"} />;
    case "checkout":
      return <CheckoutPage />;
    case "order":
      return <OrderPage id={id ?? ""} />;
    case "orders":
      return <OrdersPage />;
    case "inbox":
      return <InboxPage />;
    case "account":
      return <AccountPage />;
    default:
      return (
        <main class="page">
          <h1>Not found</h1>
          <p>
            There is no such page. <a href="#/">Back to the shop</a>
          </p>
        </main>
      );
  }
}

function Header() {
  const signedIn = useSignedIn(session);
  const count = cartCount.use();
  return (
    <header class="top">
      <a class="brand" href="#/">
        Online Mart
      </a>
      <nav aria-label="Main">
        <a href="#/">Shop</a>
        <a href="#/cart">Cart{count > 0 ? ` (${count})` : ""}</a>
        {signedIn && <a href="#/orders">Orders</a>}
        {signedIn && <a href="#/inbox">Inbox</a>}
        {signedIn && <a href="#/account">Account</a>}
        {signedIn ? (
          <button type="button" class="link" onClick={() => void signOut().then(() => (location.hash = "#/"))}>
            Sign out
          </button>
        ) : (
          <a href="#/signin">Sign in</a>
        )}
      </nav>
    </header>
  );
}

export function App() {
  const route = useRoute();
  return (
    <>
      <Header />
      <Page route={route} />
    </>
  );
}
