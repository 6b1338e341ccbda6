// The customer's story in a real browser against a real shop: browse, filter by a facet,
// pick a size, add two, register, add an address, check out (double click: one order),
// watch the order move without reloading, see it paid once the admin confirms, read the
// inbox. Then what the network carried, and the product page on a 375 px phone.
import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, type BrowserContext, type Page, type Request } from "playwright-core";
import { ADMIN_EMAIL, ADMIN_PASSWORD, launchBrowser, runDemoData, startShop, type Shop } from "./shop.js";
import { type Catalog, seedCatalog } from "./seed.js";
import { assertLabelled, tabUntil } from "./usable.js";
import { grpcWebBody } from "./grpc-web.js";
import {
  GetPaymentResponseSchema,
  PaymentProvider,
  PaymentStatus,
} from "../../src/gen/mart/payment/v1/payment_pb.js";

let shop: Shop;
let browser: Browser;
let catalog: Catalog;
/** Screenshots, kept after the run (the shop's data dir is not). */
let shots: string;
const requests: { method: string; url: string; contentType: string }[] = [];

before(async () => {
  shots = await mkdtemp(join(tmpdir(), "mart-web-shots-"));
  // Access tokens live 65 s, so the storefront renews them 5 s after signing in (a minute
  // early, at the soonest 5 s): the stories run with renewals happening.
  shop = await startShop({ MART_ACCESS_TOKEN_TTL: "65s" });
  const admin = shop.api(await shop.login(ADMIN_EMAIL, ADMIN_PASSWORD));
  catalog = await seedCatalog(admin);
  browser = await launchBrowser();
  console.log(`# shop at ${shop.edge}; browser at ${shop.url} (${shop.servedByEdge ? "the edge serves the bundle" : "front server"})`);
});

/** Contexts a test opened and has not closed: a test closes its own unless it failed. */
const open = new Set<BrowserContext>();
const newContext = (options?: Parameters<Browser["newContext"]>[0]) =>
  browser.newContext(options).then((context) => {
    open.add(context);
    context.on("close", () => open.delete(context));
    const errors: string[] = [];
    context.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    (context as unknown as { errors: string[] }).errors = errors;
    return context;
  });

// After a failure: what the page showed, as a screenshot and its text.
afterEach(async () => {
  let n = 0;
  for (const context of open) {
    for (const page of context.pages()) {
      const shot = join(shots, `failure-${Date.now()}-${n++}.png`);
      await page.screenshot({ path: shot, fullPage: true }).catch(() => undefined);
      const text = await page.locator("body").innerText().catch(() => "");
      const errors = (context as unknown as { errors: string[] }).errors;
      console.log(`# failed at ${page.url()} (screenshot ${shot})\n# ${text.replace(/\n/g, "\n# ")}\n# console errors: ${errors.join(" | ")}`);
    }
    await context.close();
  }
});

after(async () => {
  await browser?.close();
  await shop?.stop();
});

function record(page: Page): void {
  page.on("request", (req: Request) => {
    requests.push({ method: req.method(), url: req.url(), contentType: req.headers()["content-type"] ?? "" });
  });
}

/** The order the first story placed. */
let orderId = "";

const customer = { email: "ada@example.com", password: "correct horse battery", first: "Ada", last: "Lovelace" };

test("a customer browses, picks a size, checks out and watches the order get paid", async () => {
  const context = await newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  record(page);
  let loads = 0;
  page.on("load", () => loads++);

  await page.goto(shop.url);
  await page.getByRole("link", { name: "Organic T-shirt" }).waitFor();
  await page.getByRole("link", { name: "Green tea" }).waitFor();
  await assertLabelled(page, "the catalog");

  // A facet: only products with a size M.
  await page.getByRole("group", { name: "Size" }).getByLabel(/^M \(\d+\)$/).check();
  await page.waitForFunction(() => location.hash.includes("option=Size%3AM"));
  await page.getByRole("link", { name: "Green tea" }).waitFor({ state: "detached" });
  await page.getByRole("link", { name: "Organic T-shirt" }).click();

  // The product page: pick M (its own price), two of them.
  await page.getByRole("heading", { name: "Organic T-shirt" }).waitFor();
  const picker = page.getByRole("group", { name: /Choose Size/ });
  await picker.getByText("Size: L").waitFor();
  assert.match(await picker.textContent() ?? "", /out of stock/);
  await assertLabelled(page, "the product page");
  await picker.getByLabel(/Size: M/).check();
  assert.equal(await page.getByTestId("price").textContent(), "$15.00");
  await page.getByLabel("Quantity").fill("2");
  await page.getByRole("button", { name: "Add to cart" }).click();

  // Signed out: register, and the two are added.
  await page.getByRole("heading", { name: "Create an account" }).waitFor();
  await assertLabelled(page, "the sign-up page");
  await page.getByLabel("Email").fill(customer.email);
  await page.getByLabel("Password").fill("short");
  await page.getByLabel("First name").fill(customer.first);
  await page.getByLabel("Last name").fill(customer.last);
  await page.getByRole("button", { name: "Create account" }).click();
  // The server's field violation is shown beside the password.
  await page.locator(".field.invalid", { has: page.getByLabel("Password") }).getByRole("alert").waitFor();
  await page.getByLabel("Password").fill(customer.password);
  await page.getByRole("button", { name: "Create account" }).click();

  await page.getByRole("heading", { name: "Your cart" }).waitFor();
  await page.getByText("Subtotal (2 items)").waitFor();
  await page.getByText("$30.00").first().waitFor();
  await assertLabelled(page, "the cart");
  await page.getByRole("link", { name: "Checkout" }).click();

  // An address, then the order; a double click places one.
  await page.getByRole("heading", { name: "Checkout" }).waitFor();
  await assertLabelled(page, "checkout");
  await page.screenshot({ path: join(shots, "checkout.png"), fullPage: true });
  await page.getByLabel("Street and number").fill("1 Analytical Way");
  await page.getByLabel("City").fill("London");
  await page.getByLabel("Postal code").fill("N1 7AA");
  await page.getByLabel("Country code").fill("Narnia");
  await page.getByRole("button", { name: "Save address" }).click();
  // The server names the field; its message appears beside it.
  const country = page.locator(".field.invalid", { has: page.getByLabel("Country code") });
  assert.match((await country.getByRole("alert").textContent()) ?? "", /ISO 3166-1/);
  await page.getByLabel("Country code").fill("GB");
  await page.getByRole("button", { name: "Save address" }).click();
  await page.getByRole("radio", { name: /1 Analytical Way/ }).waitFor();
  const loadsBefore = loads;
  await page.getByRole("button", { name: "Place order" }).dblclick();

  // The order page, moving on its own.
  await page.getByRole("heading", { name: /^Order / }).waitFor();
  const timeline = page.getByRole("list", { name: "Progress seen" });
  await timeline.locator('[data-status="PENDING"]').waitFor();
  await page.locator('strong[data-status="AWAITING_PAYMENT"]').waitFor({ timeout: 15_000 });
  await page.getByText("Awaiting confirmation").waitFor();
  await assertLabelled(page, "the order page");
  assert.equal(loads, loadsBefore, "the order page updated without a reload");
  orderId = page.url().split("#/order/")[1]!;
  const mode = await page.locator("[data-mode]").getAttribute("data-mode");
  console.log(`# the order page follows the order by: ${mode}`);
  if (process.env.MART_EXPECT_WATCH !== "0") assert.equal(mode, "stream", "updates arrive over WatchOrder");

  const token = await shop.login(customer.email, customer.password);
  const mine = await shop.api(token).orders.listOrders({});
  assert.equal(mine.orders.length, 1, "a double click placed one order");
  assert.equal(mine.orders[0]!.id, orderId);

  // The admin, in a browser of their own, opens the order in the console and confirms the
  // manual payment.
  const adminContext = await newContext({ viewport: { width: 1280, height: 900 } });
  const console_ = await adminContext.newPage();
  await console_.goto(`${shop.url}/admin/`);
  await console_.getByRole("heading", { name: "Admin console" }).waitFor();
  await console_.getByLabel("Email").fill(ADMIN_EMAIL);
  await console_.getByLabel("Password").fill(ADMIN_PASSWORD);
  await console_.getByRole("button", { name: "Sign in" }).click();
  await console_.getByRole("navigation", { name: "Sections" }).waitFor();
  await console_.goto(`${shop.url}/admin/#/order/${orderId}`);
  const confirm = console_.getByRole("form", { name: "Confirm payment" });
  await confirm.getByLabel("Payment reference").fill("bank transfer 42");
  await confirm.getByRole("button", { name: "Confirm payment" }).click();
  const confirmed = Date.now();
  await page.locator('strong[data-status="PAID"]').waitFor({ timeout: 2_000 });
  console.log(`# PAID shown ${Date.now() - confirmed} ms after the confirmation`);
  await console_.locator('[data-status="PAID"]').first().waitFor();
  await adminContext.close();
  await page.screenshot({ path: join(shots, "order-paid.png"), fullPage: true });
  assert.equal(loads, loadsBefore);

  // The inbox has the story's messages.
  await page.getByRole("link", { name: "Inbox" }).click();
  await page.getByRole("heading", { name: "Inbox" }).waitFor();
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = (await page.locator(".messages").textContent()) ?? "";
    if (/payment/i.test(text) && (await page.locator(".messages > li").count()) >= 3) break;
    assert.ok(Date.now() < deadline, `inbox never showed the payment: ${text}`);
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.waitForTimeout(300);
  }
  await assertLabelled(page, "the inbox");
  const errors = (context as unknown as { errors: string[] }).errors;
  assert.deepEqual(errors.filter((e) => /Content.Security.Policy/i.test(e)), [], "nothing the CSP refused");
  await context.close();
});

test("the network carried grpc-web, and no REST call but images", () => {
  const origins = new Set([new URL(shop.url).origin, new URL(shop.edge).origin]);
  const ours = requests.filter((r) => origins.has(new URL(r.url).origin));
  const grpcWeb = ours.filter((r) => r.contentType.startsWith("application/grpc-web+proto"));
  assert.ok(grpcWeb.length >= 10, `grpc-web requests: ${grpcWeb.length}`);
  assert.ok(
    grpcWeb.some((r) => r.url.endsWith("/mart.order.v1.OrderService/PlaceOrder")),
    "PlaceOrder went over grpc-web",
  );
  if (process.env.MART_EXPECT_WATCH !== "0")
    assert.ok(
      grpcWeb.some((r) => r.url.endsWith("/mart.order.v1.OrderService/WatchOrder")),
      "the order page streamed WatchOrder over grpc-web",
    );
  const rest = ours.filter((r) => new URL(r.url).pathname.startsWith("/v1/"));
  const notImages = rest.filter((r) => !(r.method === "GET" && new URL(r.url).pathname.startsWith("/v1/media/")));
  assert.deepEqual(notImages, [], "REST calls other than images");
  assert.ok(rest.length > 0, "the product image loaded from /v1/media/");
  const other = ours.filter(
    (r) => !r.contentType.startsWith("application/grpc-web") && !new URL(r.url).pathname.startsWith("/v1/media/"),
  );
  for (const r of other) assert.equal(r.method, "GET", `${r.method} ${r.url}`);
});

test("the product page on a 375 px phone shows its name, price, sizes and add to cart", async () => {
  const context = await newContext({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await page.goto(`${shop.url}/#/product/${catalog.teeId}`);
  await page.getByRole("heading", { name: "Organic T-shirt" }).waitFor();
  const shot = join(shots, "product-375.png");
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`# screenshot: ${shot}`);
  for (const [what, locator] of [
    ["name", page.getByRole("heading", { name: "Organic T-shirt" })],
    ["price", page.getByTestId("price")],
    ["variant picker", page.getByRole("group", { name: /Choose Size/ })],
    ["size M", page.getByRole("radio", { name: /Size: M/ })],
    ["add to cart", page.getByRole("button", { name: "Add to cart" })],
    ["image", page.locator("img.main-image")],
  ] as const) {
    assert.ok(await locator.isVisible(), `${what} is visible`);
    const box = await locator.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 375, `${what} fits in 375 px: ${JSON.stringify(box)}`);
  }
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `no sideways scrolling (page is ${width} px wide)`);
  await context.close();
});

test("the product page works from the keyboard alone", async () => {
  const context = await newContext({ viewport: { width: 375, height: 812 } });
  const page = await context.newPage();
  await page.goto(`${shop.url}/#/product/${catalog.teeId}`);
  await page.getByRole("heading", { name: "Organic T-shirt" }).waitFor();
  await tabUntil(page, 'input[type="radio"]');
  await page.keyboard.press("ArrowDown"); // S → M, as radio groups do
  assert.ok(await page.getByRole("radio", { name: /Size: M/ }).isChecked());
  await tabUntil(page, 'input[name="quantity"]');
  await page.keyboard.press("Control+A");
  await page.keyboard.type("3");
  const path = await tabUntil(page, "button.primary");
  assert.match(path[path.length - 1]!, /Add to cart/);
  await page.keyboard.press("Enter");
  // Signed out: on to sign up, with the item waiting.
  await page.getByRole("heading", { name: "Create an account" }).waitFor();
  await page.getByText("we add your item to the cart").waitFor();
  await context.close();
});

test("the admin console's page is served at /admin/", async () => {
  const context = await newContext();
  const page = await context.newPage();
  await page.goto(`${shop.url}/admin/`);
  // The console's own stories are the admin's; here only that its app starts at /admin/.
  await page.waitForFunction(() => (document.getElementById("app")?.childElementCount ?? 0) > 0);
  assert.match(await page.title(), /Admin/);
  await context.close();
});

/** The customer's order page with GetPayment answering as for a Stripe payment. */
async function stripeOrderPage(stripeJs: (route: import("playwright-core").Route) => Promise<void>) {
  // This shop takes no cards, so its pages' CSP leaves Stripe out (the edge adds Stripe's
  // origins when it is configured, and tests that itself); here the page's part is tested.
  const context = await newContext({ bypassCSP: true });
  const page = await context.newPage();
  const scripts: string[] = [];
  page.on("request", (r) => r.resourceType() === "script" && scripts.push(r.url()));
  const payment = {
    id: "pay-1",
    orderId,
    provider: PaymentProvider.STRIPE,
    status: PaymentStatus.PENDING,
    amount: { amountMinor: 3000n, currency: "USD" },
    clientSecret: "pi_123_secret_456",
  };
  const body = grpcWebBody(GetPaymentResponseSchema, { payment, publishableKey: "pk_test_abc" });
  await page.route("**/mart.payment.v1.PaymentService/GetPayment", (route) =>
    route.fulfill({ status: 200, headers: { "content-type": "application/grpc-web+proto" }, body }),
  );
  await page.route("https://js.stripe.com/**", stripeJs);
  await page.goto(`${shop.url}/#/signin`);
  await page.getByLabel("Email").fill(customer.email);
  await page.getByLabel("Password").fill(customer.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("link", { name: "Inbox" }).waitFor();
  await page.goto(`${shop.url}/#/order/${orderId}`);
  await page.getByRole("heading", { name: "Payment" }).waitFor();
  return { context, page, scripts };
}

test("a card payment mounts Stripe's Payment Element with the payment's client secret", async () => {
  const { context, page, scripts } = await stripeOrderPage((route) =>
    route.fulfill({
      contentType: "text/javascript",
      // Stripe.js as far as the page uses it, recording what it was given.
      body: `window.stripeCalls = [];
        window.Stripe = (key) => { stripeCalls.push(["Stripe", key]); return {
          elements: (o) => { stripeCalls.push(["elements", o.clientSecret]); return {
            create: (kind) => { stripeCalls.push(["create", kind]); return {
              mount: (el) => { el.textContent = "stripe element"; }, destroy() {} }; } }; },
          confirmPayment: async () => ({}) }; };`,
    }),
  );
  await page.getByText("stripe element").waitFor();
  assert.ok(scripts.includes("https://js.stripe.com/v3/"), scripts.join());
  const calls = await page.evaluate(() => (window as unknown as { stripeCalls: unknown }).stripeCalls);
  assert.deepEqual(calls, [
    ["Stripe", "pk_test_abc"],
    ["elements", "pi_123_secret_456"],
    ["create", "payment"],
  ]);
  await context.close();
});

test("when Stripe.js cannot load, the order page says so and draws no card form", async () => {
  const { context, page } = await stripeOrderPage((route) => route.abort("internetdisconnected"));
  await page.getByText(/The card form could not load: /).waitFor();
  assert.equal(await page.locator(".payment input, .payment iframe").count(), 0, "no card fields of our own");
  await context.close();
});

test("the cart changes a quantity and removes a line", async () => {
  const context = await newContext();
  const page = await context.newPage();
  await page.goto(`${shop.url}/#/signin`);
  await page.getByLabel("Email").fill(customer.email);
  await page.getByLabel("Password").fill(customer.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("link", { name: "Inbox" }).waitFor();
  await page.goto(`${shop.url}/#/product/${catalog.teaId}`);
  await page.getByRole("heading", { name: "Green tea" }).waitFor();
  await page.getByRole("button", { name: "Add to cart" }).click();
  await page.getByText("Added to your cart").waitFor();
  await page.getByRole("link", { name: "Cart (1)" }).click();
  await page.getByText("Subtotal (1 item)").waitFor();
  await page.getByLabel("Quantity").fill("3");
  await page.getByRole("button", { name: "Update" }).click();
  await page.getByText("Subtotal (3 items)").waitFor();
  await page.getByText("$24.00").first().waitFor();
  await page.getByRole("button", { name: "Remove Green tea" }).click();
  await page.getByText("Your cart is empty").waitFor();
  await context.close();
});

test("with the demo catalog: search narrows, pages go forward and back", async () => {
  await runDemoData(shop);
  const context = await newContext();
  const page = await context.newPage();
  await page.goto(shop.url);
  const cards = page.locator(".cards > li");
  await cards.first().waitFor();
  assert.equal(await cards.count(), 12, "a full first page");
  await page.locator("img").first().waitFor();
  await page.screenshot({ path: join(shots, "catalog-desktop.png") });
  const first = await cards.first().getAttribute("data-product-id");
  await page.getByRole("button", { name: "Next page" }).click();
  await page.getByText("Page 2").waitFor();
  await page.waitForFunction((id) => document.querySelector(".cards > li")?.getAttribute("data-product-id") !== id, first);
  await page.getByRole("button", { name: "Previous page" }).click();
  await page.getByText("Page 1").waitFor();
  await page.waitForFunction((id) => document.querySelector(".cards > li")?.getAttribute("data-product-id") === id, first);
  await page.getByLabel("Sort by").selectOption({ label: "Price, low to high" });
  await page.waitForFunction(() => location.hash.includes("sort=price"));
  await page.getByText("Page 1").waitFor();
  const sorted = () =>
    page.evaluate(() => {
      const lows = [...document.querySelectorAll(".cards .price")].map((e) =>
        Number((e.textContent!.split("–")[0] ?? "").replace(/[^0-9.]/g, "")),
      );
      return lows.length > 0 && lows.every((v, i) => i === 0 || lows[i - 1]! <= v);
    });
  for (let i = 0; i < 50 && !(await sorted()); i++) await page.waitForTimeout(100);
  const lows = (await page.locator(".cards .price").allTextContents()).map((text) =>
    Number((text.split("–")[0] ?? text).replace(/[^0-9.]/g, "")),
  );
  assert.deepEqual([...lows].sort((a, b) => a - b), lows, `cheapest first: ${lows.join(", ")}`);
  await page.getByLabel("Search products").fill("Organic T-shirt");
  await page.getByRole("button", { name: "Search" }).click();
  await page.waitForFunction(() => document.querySelectorAll(".cards > li").length === 1);
  await page.getByLabel("Search products").fill("no such thing anywhere");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByText("No products match").waitFor();
  await context.close();
});

test("the session renews its access token before it expires, and survives a reload", async () => {
  const context = await newContext();
  const page = await context.newPage();
  const refreshes: string[] = [];
  page.on("request", (r) => r.url().endsWith("/mart.user.v1.UserService/RefreshToken") && refreshes.push(r.url()));
  await page.goto(`${shop.url}/#/signin`);
  await page.getByLabel("Email").fill(customer.email);
  await page.getByLabel("Password").fill(customer.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("link", { name: "Inbox" }).waitFor();
  const stored = () => page.evaluate(() => localStorage.getItem("mart.refreshToken"));
  const first = await stored();
  assert.ok(first, "the refresh token is kept");
  const kept = await page.evaluate(() => JSON.stringify(localStorage));
  assert.doesNotMatch(kept, /eyJ/, "no access token (a JWT) in storage");
  await page.waitForFunction(
    (old) => localStorage.getItem("mart.refreshToken") !== old,
    first,
    { timeout: 10_000 },
  );
  assert.equal(refreshes.length, 1, "renewed once, ahead of expiry");
  await page.getByRole("link", { name: "Orders" }).click();
  await page.getByRole("link", { name: /^Order / }).first().waitFor();
  await page.reload();
  await page.getByRole("link", { name: /^Order / }).first().waitFor();
  assert.ok(await page.getByRole("link", { name: "Inbox" }).isVisible(), "still signed in after a reload");
  await context.close();
});

test("the account page lists, adds and deletes addresses", async () => {
  const context = await newContext({ viewport: { width: 375, height: 812 } });
  const page = await context.newPage();
  await page.goto(`${shop.url}/#/signin`);
  await page.getByLabel("Email").fill(customer.email);
  await page.getByLabel("Password").fill(customer.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("link", { name: "Account", exact: true }).click();
  await page.getByText(customer.email).waitFor();
  await page.getByText(/1 Analytical Way/).waitFor();
  await page.getByText("Add an address").click();
  await page.getByLabel("Street and number").fill("12 Difference Engine Rd");
  await page.getByLabel("City").fill("Cambridge");
  await page.getByLabel("Postal code").fill("CB2 1TN");
  await page.getByLabel("Country code").fill("gb");
  await page.getByRole("button", { name: "Save address" }).click();
  await page.getByText(/12 Difference Engine Rd/).waitFor();
  await assertLabelled(page, "the account page");
  await page.screenshot({ path: join(shots, "account-375.png"), fullPage: true });
  await page.getByRole("button", { name: /Delete the address 12 Difference/ }).click();
  await page.getByText(/12 Difference Engine Rd/).waitFor({ state: "detached" });
  const token = await shop.login(customer.email, customer.password);
  const { addresses } = await shop.api(token).users.listAddresses({});
  assert.deepEqual(addresses.map((a) => a.line1), ["1 Analytical Way"]);
  await context.close();
});

test("a customer cancels an unpaid order from its page, and the page shows it cancelled", async () => {
  const token = await shop.login(customer.email, customer.password);
  const mine = shop.api(token);
  await mine.orders.addCartItem({ productId: catalog.teaId, quantity: 1 });
  const { addresses } = await mine.users.listAddresses({});
  const { order } = await mine.orders.placeOrder({ addressId: addresses[0]!.id, requestId: crypto.randomUUID() });
  const context = await newContext({ viewport: { width: 375, height: 812 } });
  const page = await context.newPage();
  await page.goto(`${shop.url}/#/signin`);
  await page.getByLabel("Email").fill(customer.email);
  await page.getByLabel("Password").fill(customer.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("link", { name: "Inbox" }).waitFor();
  await page.goto(`${shop.url}/#/order/${order!.id}`);
  await page.locator('strong[data-status="AWAITING_PAYMENT"]').waitFor({ timeout: 15_000 });
  await page.screenshot({ path: join(shots, "order-375.png"), fullPage: true });
  await page.getByRole("button", { name: "Cancel order" }).click();
  await page.getByRole("button", { name: "Yes, cancel it" }).click();
  await page.locator('strong[data-status="CANCELLED"]').waitFor({ timeout: 5_000 });
  await page.getByRole("button", { name: "Cancel order" }).waitFor({ state: "detached" });
  await context.close();
});
