// The console's frame: the sign-in gate, a header with the sections, and the page the
// hash names (`#/orders`, `#/product/<id>`, …).
import { useEffect, useState } from "preact/hooks";
import type { User } from "../gen/mart/user/v1/user_pb.js";
import { type Route, parseHash } from "../lib/route.js";
import { session, signOut } from "./api.js";
import { SignInPage } from "./pages/signin.js";
import { DashboardPage } from "./pages/dashboard.js";
import { CategoriesPage } from "./pages/categories.js";
import { ProductsPage } from "./pages/products.js";
import { NewProductPage } from "./pages/new-product.js";
import { ProductPage } from "./pages/product.js";
import { OrdersPage } from "./pages/orders.js";
import { OrderPage } from "./pages/order.js";
import { UsersPage } from "./pages/users.js";
import { EventsPage } from "./pages/events.js";

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

const SECTIONS = [
  ["", "Dashboard"],
  ["orders", "Orders"],
  ["products", "Products"],
  ["categories", "Categories"],
  ["users", "Users"],
  ["events", "Events"],
] as const;

function Page({ route, me }: { route: Route; me: User }) {
  const [first, id] = route.parts;
  switch (first) {
    case undefined:
      return <DashboardPage />;
    case "categories":
      return <CategoriesPage />;
    case "products":
      return id === "new" ? <NewProductPage /> : <ProductsPage query={route.query} />;
    case "product":
      return <ProductPage key={id} id={id ?? ""} />;
    case "orders":
      return <OrdersPage query={route.query} />;
    case "order":
      return <OrderPage key={id} id={id ?? ""} />;
    case "users":
      return <UsersPage me={me} />;
    case "events":
      return <EventsPage />;
    default:
      return (
        <main class="page">
          <h1>Not found</h1>
          <p>
            There is no such page. <a href="#/">Back to the dashboard</a>
          </p>
        </main>
      );
  }
}

function Header({ me, current, onSignOut }: { me: User; current: string; onSignOut: () => void }) {
  return (
    <header class="top admin-top">
      <a class="brand" href="#/">
        Online Mart admin
      </a>
      <nav aria-label="Sections">
        {SECTIONS.map(([part, name]) => (
          <a key={part} href={`#/${part}`} aria-current={current === part ? "page" : undefined}>
            {name}
          </a>
        ))}
      </nav>
      <div class="who">
        <span class="hint">{me.email}</span>
        <button type="button" class="link" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}

/** Which section a page belongs to, for the header's marker. */
function section(route: Route): string {
  const first = route.parts[0] ?? "";
  return first === "product" ? "products" : first === "order" ? "orders" : first;
}

export function Admin({ initial }: { initial: User | undefined }) {
  const route = useRoute();
  const [me, setMe] = useState(initial);
  // A refresh the server refuses (or a sign-out in another tab) ends the session here too.
  useEffect(() => session.subscribe(() => !session.signedIn && setMe(undefined)), []);
  if (!me) return <SignInPage onSignedIn={setMe} />;
  return (
    <>
      <Header me={me} current={section(route)} onSignOut={() => void signOut().then(() => setMe(undefined))} />
      <Page route={route} me={me} />
    </>
  );
}
