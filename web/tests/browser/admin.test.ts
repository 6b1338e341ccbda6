// The admin's story in a real browser against a real shop: sign in (a customer is
// refused), make categories, create a product with two options (Size × Colour, four
// variants) and an uploaded image, set and adjust a variant's stock, and see the product in
// the storefront; then confirm a customer's manual payment and ship the order with a
// tracking number, refund another, disable and re-enable an account, read the sales
// dashboard and the events page. Then what the network carried, and the dashboard on a
// 375 px phone.
import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page, Request } from "playwright-core";
import { OrderStatus } from "../../src/gen/mart/order/v1/order_pb.js";
import type { Clients } from "../../src/lib/clients.js";
import { ADMIN_EMAIL, ADMIN_PASSWORD, PIXEL_PNG, bundleDir, launchBrowser, startShop, type Shop } from "./shop.js";
import { assertLabelled, tabUntil } from "./usable.js";

let shop: Shop;
let browser: Browser;
let shots: string;
const requests: { method: string; url: string; contentType: string }[] = [];
const customer = { email: "grace@example.com", password: "correct horse battery", firstName: "Grace", lastName: "Hopper" };
let customerApi: Clients;
let addressId = "";

before(async () => {
  shots = await mkdtemp(join(tmpdir(), "mart-web-shots-"));
  shop = await startShop();
  browser = await launchBrowser();
  console.log(`# shop at ${shop.edge}; browser at ${shop.url} (${shop.servedByEdge ? "the edge serves the bundle" : "front server"})`);
  if (shop.servedByEdge) {
    // The harness compares the storefront's page; the console's must be this build too.
    const built = await readFile(join(bundleDir, "admin/index.html"), "utf8");
    const served = await (await fetch(`${shop.url}/admin/`)).text();
    assert.equal(served, built, "the edge serves an older admin console than edge/assets/web (rebuild mart)");
  }
  // A customer with an address, to place the orders the admin handles.
  await shop.api().users.register(customer);
  customerApi = shop.api(await shop.login(customer.email, customer.password));
  addressId = (await customerApi.users.addAddress({ line1: "1 Compiler Lane", city: "Arlington", postalCode: "22201", country: "US" })).address!.id;
});

const open = new Set<BrowserContext>();
async function newContext(options?: Parameters<Browser["newContext"]>[0]): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  open.add(context);
  context.on("close", () => open.delete(context));
  const errors: string[] = [];
  context.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  (context as unknown as { errors: string[] }).errors = errors;
  return context;
}

afterEach(async () => {
  let n = 0;
  for (const context of open) {
    for (const page of context.pages()) {
      const shot = join(shots, `admin-failure-${Date.now()}-${n++}.png`);
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
  // Deleting and archiving ask first; the admin says yes.
  page.on("dialog", (d) => void d.accept());
}

async function signIn(page: Page, email = ADMIN_EMAIL, password = ADMIN_PASSWORD): Promise<void> {
  await page.goto(`${shop.url}/admin/`);
  await page.getByRole("heading", { name: "Admin console" }).waitFor();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Goes to a section through the header, as the admin would. */
async function section(page: Page, name: string, heading: string | RegExp = name): Promise<void> {
  await page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name, exact: true }).click();
  await page.getByRole("heading", { name: heading, level: 1 }).waitFor();
}

/** A customer's order for `variantId`, placed through the API, once it awaits payment. */
async function placeOrder(variantId: string, quantity = 1): Promise<string> {
  await customerApi.orders.addCartItem({ variantId, quantity });
  const { order } = await customerApi.orders.placeOrder({ addressId, requestId: crypto.randomUUID() });
  await until(async () => (await customerApi.orders.getOrder({ orderId: order!.id })).order!.status === OrderStatus.AWAITING_PAYMENT, `order ${order!.id} awaiting payment`);
  return order!.id;
}

/** Waits for `ready`, or fails at once with the API's error when the page shows one instead. */
async function showsOrFails(page: Page, ready: string, what: string): Promise<void> {
  const failure = page.locator("main .error.banner");
  await page.locator(`${ready}, main .error.banner`).first().waitFor();
  if (await failure.count()) assert.fail(`${what} failed: ${await failure.first().textContent()}`);
}

async function until(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

test("a customer's account is refused at the console's sign-in", async () => {
  const context = await newContext();
  const page = await context.newPage();
  record(page);
  await signIn(page, customer.email, customer.password);
  await page.getByTestId("not-admin").getByText(/is not an admin account/).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem("mart.admin.refreshToken")), null, "no session kept");
  await page.getByLabel("Password").fill("wrong password!");
  await signIn(page, ADMIN_EMAIL, "not the password");
  await page.getByRole("alert").first().waitFor();
  await assertLabelled(page, "the sign-in page");
  await context.close();
});

let productId = "";
let stockedVariant = "";

test("the admin makes categories and a product with options, variants, an image and stock; the storefront shows it", async () => {
  const context = await newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  record(page);
  await signIn(page);
  await page.getByRole("heading", { name: "Sales", level: 1 }).waitFor();

  // Categories: create, rename, and delete one made by mistake.
  await section(page, "Categories");
  await assertLabelled(page, "the categories page");
  const newCategory = page.getByRole("form", { name: "New category" });
  for (const name of ["Jackets", "Scratch"]) {
    await newCategory.getByLabel("Name").fill(name);
    await newCategory.getByRole("button", { name: "Create category" }).click();
    await page.getByRole("list", { name: "Categories" }).getByText(name, { exact: true }).waitFor();
  }
  // A second one of the same name: the server's complaint is shown.
  await newCategory.getByLabel("Name").fill("Jackets");
  await newCategory.getByRole("button", { name: "Create category" }).click();
  await newCategory.getByRole("alert").first().waitFor();
  await page.getByRole("button", { name: "Rename Jackets" }).click();
  await page.getByLabel("New name for Jackets").fill("Outerwear");
  await page.getByRole("button", { name: "Save name" }).click();
  await page.getByRole("list", { name: "Categories" }).getByText("Outerwear", { exact: true }).waitFor();
  await page.getByRole("button", { name: "Delete Scratch" }).click();
  await page.getByRole("list", { name: "Categories" }).getByText("Scratch", { exact: true }).waitFor({ state: "detached" });

  // A product: Size × Colour makes four variants, one dearer; a picture uploaded with it.
  await section(page, "Products");
  await page.getByText("No products yet.").waitFor();
  await page.getByRole("link", { name: "New product" }).click();
  await page.getByRole("heading", { name: "New product" }).waitFor();
  await page.getByLabel("Name", { exact: true }).fill("Rain jacket");
  await page.getByLabel("SKU", { exact: true }).fill("JACKET");
  await page.getByLabel("Brand").fill("Drizzle");
  await page.getByLabel("Category").selectOption({ label: "Outerwear" });
  await page.getByLabel("Price", { exact: true }).fill("80.00");
  await page.getByLabel("Description", { exact: true }).fill("Keeps the rain out.");
  await page.getByRole("button", { name: "Add an option" }).click();
  await page.getByLabel("Option 1 name").fill("Size");
  await page.getByLabel("Option 1 values").fill("S, M");
  await page.getByRole("button", { name: "Add an option" }).click();
  await page.getByLabel("Option 2 name").fill("Colour");
  await page.getByLabel("Option 2 values").fill("Red, Blue");
  const variants = page.getByRole("list", { name: "Variants" }).locator("li");
  await page.waitForFunction(() => document.querySelectorAll(".variant-row").length === 4);
  assert.equal(await variants.count(), 4);
  await page.getByLabel("Price of Size: M, Colour: Blue").fill("85.00");
  await page.getByLabel("Stock of Size: S, Colour: Red").fill("3");
  // Two variants with one SKU: the server names the row, and its message is shown there.
  await page.getByLabel("SKU of Size: S, Colour: Blue").fill("JACKET-S-RED");
  await page.getByLabel("Image file").setInputFiles({ name: "jacket.png", mimeType: "image/png", buffer: Buffer.from(PIXEL_PNG) });
  await page.getByLabel("Image description (alt text)").fill("The rain jacket");
  await assertLabelled(page, "the new product form");
  await page.getByRole("button", { name: "Create product" }).click();
  const duplicate = page.locator(".field.invalid", { has: page.getByLabel("SKU of Size: S, Colour: Blue") });
  await duplicate.getByRole("alert").waitFor();
  console.log(`# duplicate SKU shown as: ${await duplicate.getByRole("alert").textContent()}`);
  await page.getByLabel("SKU of Size: S, Colour: Blue").fill("JACKET-S-BLUE");
  await page.getByRole("button", { name: "Create product" }).click();

  // The product's page: four variants, the image, and their stock.
  await page.getByRole("heading", { name: "Rain jacket", level: 1 }).waitFor();
  productId = page.url().split("#/product/")[1]!;
  const rows = page.getByRole("list", { name: "Variants of the product" }).locator("li.row");
  assert.equal(await rows.count(), 4, "four variants");
  await page.getByRole("list", { name: "Images of the product" }).getByRole("img", { name: "The rain jacket" }).waitFor();
  assert.ok(
    await page.locator(".image-grid img").evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0),
    "the uploaded image loads",
  );
  await assertLabelled(page, "the product page");

  // Stock of M / Red: a count, then a delivery; the ledger shows both.
  const mRed = rows.filter({ hasText: "Size: M, Colour: Red" });
  stockedVariant = (await mRed.getAttribute("data-variant-id"))!;
  await page.getByRole("button", { name: "Stock of Size: M, Colour: Red" }).click();
  await page.getByRole("heading", { name: "Stock of Size: M, Colour: Red" }).waitFor();
  const setForm = page.getByRole("form", { name: "Set stock" });
  await setForm.getByLabel("Counted on hand").fill("7");
  await setForm.getByLabel("Reason for the count").fill("first count");
  await setForm.getByRole("button", { name: "Set stock" }).click();
  await page.getByTestId("stock-figures").getByText("7", { exact: true }).first().waitFor();
  const adjustForm = page.getByRole("form", { name: "Adjust stock" });
  await adjustForm.getByLabel(/^Change/).fill("3");
  await adjustForm.getByRole("button", { name: "Adjust stock" }).click();
  // No reason: the server's violation sits beside the reason.
  await adjustForm.locator(".field.invalid", { has: page.getByLabel("Reason for the change") }).getByRole("alert").waitFor();
  await adjustForm.getByLabel("Reason for the change").fill("delivery 118");
  await adjustForm.getByRole("button", { name: "Adjust stock" }).click();
  await page.waitForFunction(() => /10 available/.test(document.querySelector('[data-testid="stock-figures"]')?.textContent ?? ""));
  const ledger = page.getByRole("table", { name: "Stock movements" });
  await ledger.getByText("delivery 118").waitFor();
  await ledger.getByText("first count").waitFor();
  await mRed.getByText("10 available").waitFor();

  // Edit one variant's price, archive another.
  await page.getByRole("button", { name: "Edit Size: S, Colour: Blue" }).click();
  await page.getByLabel("Price of Size: S, Colour: Blue").fill("79.00");
  await page.getByRole("button", { name: "Save variant" }).click();
  await rows.filter({ hasText: "Size: S, Colour: Blue" }).getByText("$79.00").waitFor();
  await page.getByRole("button", { name: "Archive Size: M, Colour: Blue" }).click();
  await rows.filter({ hasText: "Size: M, Colour: Blue" }).getByText("Archived").waitFor();
  await page.screenshot({ path: join(shots, "admin-product.png"), fullPage: true });

  const stock = await shop.api(await shop.login(ADMIN_EMAIL, ADMIN_PASSWORD)).inventory.getStock({ productId });
  assert.equal(stock.variants.find((v) => v.variantId === stockedVariant)?.onHand, 10);

  // The storefront, in a browser of its own: the product with its picture.
  const shopper = await newContext({ viewport: { width: 1280, height: 900 } });
  const store = await shopper.newPage();
  record(store);
  await store.goto(`${shop.url}/#/product/${productId}`);
  await store.getByRole("heading", { name: "Rain jacket" }).waitFor();
  const image = store.locator("img.main-image");
  await image.waitFor();
  await store.waitForFunction(() => {
    const img = document.querySelector<HTMLImageElement>("img.main-image");
    return !!img && img.complete && img.naturalWidth > 0;
  });
  assert.match((await image.getAttribute("src")) ?? "", /\/v1\/media\//);
  await store.screenshot({ path: join(shots, "storefront-new-product.png") });
  await shopper.close();
  await context.close();
});

test("the admin confirms a manual payment and ships with a tracking number, refunds another order", async () => {
  assert.ok(stockedVariant, "the product story ran");
  const shipped = await placeOrder(stockedVariant, 2);
  const refunded = await placeOrder(stockedVariant, 1);
  const adminApi = shop.api(await shop.login(ADMIN_EMAIL, ADMIN_PASSWORD));
  await adminApi.payments.confirmManualPayment({ orderId: refunded, reference: "cash" });
  await until(async () => (await adminApi.orders.getOrder({ orderId: refunded })).order!.status === OrderStatus.PAID, "the second order paid");

  const context = await newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  record(page);
  await signIn(page);
  await section(page, "Orders");
  await page.getByLabel("Status").selectOption({ label: "Awaiting payment" });
  await page.waitForFunction(() => location.hash.includes("status=AWAITING_PAYMENT"));
  const list = page.getByRole("table", { name: "Orders" });
  await list.locator(`tr[data-order-id="${refunded}"]`).waitFor({ state: "detached" });
  await assertLabelled(page, "the orders page");
  await list.locator(`tr[data-order-id="${shipped}"]`).getByRole("link", { name: /^Order / }).click();

  // Awaiting payment: confirm it; the page follows the order to PAID.
  await page.getByRole("heading", { name: /^Order / }).waitFor();
  await page.locator('strong[data-status="AWAITING_PAYMENT"]').waitFor();
  await assertLabelled(page, "an order awaiting payment");
  await page.getByLabel("Payment reference").fill("bank transfer 7");
  await page.getByRole("button", { name: "Confirm payment" }).click();
  await page.locator('strong[data-status="PAID"]').waitFor({ timeout: 10_000 });
  await page.getByTestId("payment-status").getByText("Succeeded").waitFor();

  // Paid: ship it. Without a carrier the server says so beside the field.
  await page.getByLabel("Tracking number").fill("1Z999AA10123456784");
  await page.getByRole("button", { name: "Mark shipped" }).click();
  await page.locator(".field.invalid", { has: page.getByLabel("Carrier") }).getByRole("alert").waitFor();
  await page.getByLabel("Carrier").fill("UPS");
  await page.getByRole("button", { name: "Mark shipped" }).click();
  await page.locator('strong[data-status="SHIPPED"]').waitFor();
  await page.getByTestId("shipment").getByText(/UPS · tracking 1Z999AA10123456784/).waitFor();
  await page.getByRole("button", { name: "Mark delivered" }).waitFor();
  const order = (await adminApi.orders.getOrder({ orderId: shipped })).order!;
  assert.equal(order.status, OrderStatus.SHIPPED);
  assert.equal(order.shipment?.trackingNumber, "1Z999AA10123456784");

  // The other, paid: refund it in full; before shipping that cancels the order.
  await page.goto(`${shop.url}/admin/#/order/${refunded}`);
  await page.locator('strong[data-status="PAID"]').waitFor();
  await page.getByLabel("Reason for the refund").fill("changed their mind");
  await page.getByRole("button", { name: "Refund payment" }).click();
  await page.getByTestId("payment-status").getByText("Refunded").waitFor({ timeout: 10_000 });
  await page.locator('strong[data-status="CANCELLED"]').waitFor({ timeout: 10_000 });
  await assertLabelled(page, "a refunded order");
  const payment = (await adminApi.payments.getPayment({ orderId: refunded })).payment!;
  assert.equal(payment.refunded?.amountMinor, payment.amount?.amountMinor, "refunded in full");
  await context.close();
});

test("the admin disables an account and enables it again", async () => {
  const context = await newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  record(page);
  await signIn(page);
  await section(page, "Users");
  await page.getByLabel("Email starts with").fill("grace");
  await page.getByRole("button", { name: "Filter" }).click();
  const row = page.locator(`li[data-email="${customer.email}"]`);
  await row.waitFor();
  await page.waitForFunction(() => document.querySelectorAll("li.user").length === 1);
  await assertLabelled(page, "the users page");
  await row.getByLabel("Status").selectOption({ label: "Disabled" });
  await row.getByRole("button", { name: `Save ${customer.email}` }).click();
  await row.getByText("Saved.").waitFor();
  await assert.rejects(shop.login(customer.email, customer.password), "a disabled account cannot sign in");
  await row.getByLabel("Status").selectOption({ label: "Active" });
  await row.getByRole("button", { name: `Save ${customer.email}` }).click();
  await row.getByText("Saved.").waitFor();
  await until(() => shop.login(customer.email, customer.password).then(() => true, () => false), "the account enabled again");
  await context.close();
});

test("the dashboard draws the sales chart and the best sellers", async () => {
  const context = await newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  record(page);
  await signIn(page);
  await page.getByRole("heading", { name: "Sales", level: 1 }).waitFor();
  await showsOrFails(page, '[data-testid="sales-chart"] canvas', "GetSalesReport");
  assert.ok(await page.locator('[data-testid="sales-chart"] canvas').isVisible(), "the chart's canvas");
  await assertLabelled(page, "the dashboard");
  // The shipped order (2 × $80) is paid today; the refunded one counts for nothing.
  assert.equal(await page.getByTestId("total-orders").textContent(), "2");
  const best = page.getByRole("table", { name: "Best sellers" });
  await best.getByText("Rain jacket").waitFor();
  await page.screenshot({ path: join(shots, "admin-dashboard.png"), fullPage: true });
  await context.close();
});

test("the events page shows the bus: consumer lag and dead letters", async () => {
  const context = await newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  record(page);
  await signIn(page);
  await page.getByRole("heading", { name: "Sales", level: 1 }).waitFor();
  await section(page, "Events");
  await showsOrFails(page, 'table[aria-label="Consumer lag"]', "GetEventsStatus");
  const lag = page.getByRole("table", { name: "Consumer lag" });
  assert.ok((await lag.locator("tbody tr").count()) > 0, "consumer groups are listed");
  await page.getByRole("heading", { name: "Dead letters" }).waitFor();
  await assertLabelled(page, "the events page");
  await context.close();
});

test("the network carried grpc-web, and no REST call but images", () => {
  const origins = new Set([new URL(shop.url).origin, new URL(shop.edge).origin]);
  const ours = requests.filter((r) => origins.has(new URL(r.url).origin));
  const grpcWeb = ours.filter((r) => r.contentType.startsWith("application/grpc-web+proto"));
  assert.ok(grpcWeb.length >= 30, `grpc-web requests: ${grpcWeb.length}`);
  for (const rpc of [
    "CatalogService/UploadMedia",
    "CatalogService/CreateProduct",
    "InventoryService/SetStock",
    "PaymentService/ConfirmManualPayment",
    "OrderService/ShipOrder",
    "PaymentService/RefundPayment",
    "OrderService/GetSalesReport",
    "NotificationService/GetEventsStatus",
  ]) {
    assert.ok(grpcWeb.some((r) => r.url.endsWith(rpc)), `${rpc} went over grpc-web`);
  }
  const rest = ours.filter((r) => new URL(r.url).pathname.startsWith("/v1/"));
  const notImages = rest.filter((r) => !(r.method === "GET" && new URL(r.url).pathname.startsWith("/v1/media/")));
  assert.deepEqual(notImages, [], "REST calls other than images");
  assert.ok(rest.length > 0, "images loaded from /v1/media/");
});

test("the dashboard on a 375 px phone, signed in from the keyboard", async () => {
  const context = await newContext({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await page.goto(`${shop.url}/admin/`);
  await page.getByRole("heading", { name: "Admin console" }).waitFor();
  await tabUntil(page, 'input[name="email"]');
  await page.keyboard.type(ADMIN_EMAIL);
  await tabUntil(page, 'input[name="password"]');
  await page.keyboard.type(ADMIN_PASSWORD);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Sales", level: 1 }).waitFor();
  await showsOrFails(page, '[data-testid="sales-chart"] canvas', "GetSalesReport");
  const chart = page.locator('[data-testid="sales-chart"] canvas');
  await page.getByRole("table", { name: "Best sellers" }).waitFor();
  const shot = join(shots, "admin-dashboard-375.png");
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`# screenshot: ${shot}`);
  for (const [what, locator] of [
    ["title", page.getByRole("heading", { name: "Sales", level: 1 })],
    ["sections", page.getByRole("navigation", { name: "Sections" })],
    ["range", page.getByLabel("From")],
    ["revenue", page.getByTestId("total-revenue")],
    ["orders", page.getByTestId("total-orders")],
    ["chart", chart],
    ["best sellers", page.getByRole("heading", { name: "Best sellers" })],
  ] as const) {
    assert.ok(await locator.isVisible(), `${what} is visible`);
    const box = await locator.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 375, `${what} fits in 375 px: ${JSON.stringify(box)}`);
  }
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `no sideways scrolling (page is ${width} px wide)`);
  await assertLabelled(page, "the dashboard at 375 px");
  // The header's sections are reachable by keyboard too.
  await page.keyboard.press("Shift+Tab"); // leave the form, wherever focus is
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  const path = await tabUntil(page, 'nav[aria-label="Sections"] a[href="#/events"]');
  assert.ok(path.length > 0);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Events", level: 1 }).waitFor();
  await context.close();
});
