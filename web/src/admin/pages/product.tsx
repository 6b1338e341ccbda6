// One product: its details, images (upload, remove), variants (edit SKU and price, archive,
// add a combination) and, for the chosen variant, its stock: set a counted number, adjust by
// a delta with a reason, and the movements ledger.
import { useState } from "preact/hooks";
import type { Product, Variant } from "../../gen/mart/product/v1/product_pb.js";
import { VariantStatus } from "../../gen/mart/product/v1/product_pb.js";
import { type GetStockResponse, StockMovementKind } from "../../gen/mart/inventory/v1/inventory_pb.js";
import { formatMoney } from "../../lib/money.js";
import { type Problem, problemOf } from "../../lib/problems.js";
import { Empty, Field, FormError, Loading, useLoad } from "../../ui/ui.js";
import { api } from "../api.js";
import { Input, SelectField, amountText, at, enumLabel, fileBody, formatTime, parseAmount, violations } from "../controls.js";
import { allCategories } from "./categories.js";

export function ProductPage({ id }: { id: string }) {
  const [loaded, setProduct] = useLoad(() => api.catalog.getProduct({ productId: id }).then((r) => r.product!), [id]);
  const [stock, , reloadStock] = useLoad(() => api.inventory.getStock({ productId: id }), [id]);
  const [chosen, setChosen] = useState<string>();
  const [ledgerRound, setLedgerRound] = useState(0);
  if (loaded.state === "loading") return <main class="page"><Loading what="the product" /></main>;
  if (loaded.state === "failed")
    return (
      <main class="page">
        <p><a href="#/products">← Products</a></p>
        <FormError problem={loaded.problem} />
      </main>
    );
  const product = loaded.value;
  const variant = product.variants.find((v) => v.id === chosen) ?? product.variants.find((v) => v.status === VariantStatus.ACTIVE) ?? product.variants[0];
  const stockChanged = () => {
    reloadStock();
    setLedgerRound((n) => n + 1);
  };
  return (
    <main class="page product-admin">
      <p><a href="#/products">← Products</a></p>
      <Details product={product} onChange={setProduct} />
      <Images product={product} onChange={setProduct} />
      <section aria-labelledby="variants-h">
        <h2 id="variants-h">Variants</h2>
        <ul class="rows" aria-label="Variants of the product">
          {product.variants.map((v) => (
            <VariantRow
              key={v.id}
              product={product}
              variant={v}
              stock={stock.state === "ok" ? stock.value : undefined}
              chosen={v.id === variant?.id}
              onChoose={() => {
                setChosen(v.id);
                // On a phone the stock panel is far below the list: bring it into view.
                requestAnimationFrame(() => document.getElementById("stock-h")?.scrollIntoView({ block: "start" }));
              }}
              onChange={setProduct}
            />
          ))}
        </ul>
        {stock.state === "failed" && <FormError problem={stock.problem} />}
        {product.options.length > 0 && <AddVariant product={product} onChange={setProduct} />}
      </section>
      {variant && (
        <StockPanel
          key={variant.id}
          product={product}
          variant={variant}
          stock={stock.state === "ok" ? stock.value : undefined}
          ledgerRound={ledgerRound}
          onChange={stockChanged}
        />
      )}
    </main>
  );
}

/** Runs a mutation with its busy flag and problem. */
function useAction() {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem>();
  const [errors, setErrors] = useState<Record<string, string>>({});
  async function run(call: () => Promise<unknown>): Promise<boolean> {
    setBusy(true);
    setProblem(undefined);
    setErrors({});
    try {
      await call();
      return true;
    } catch (error) {
      setProblem(problemOf(error));
      setErrors(violations(error));
      return false;
    } finally {
      setBusy(false);
    }
  }
  return { busy, problem, errors, run };
}

function Details({ product, onChange }: { product: Product; onChange: (p: Product) => void }) {
  const [categories] = useLoad(allCategories, []);
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(product.name);
  const [brand, setBrand] = useState(product.brand);
  const [price, setPrice] = useState(amountText(product.price));
  const [categoryId, setCategoryId] = useState(product.categoryId);
  const action = useAction();
  const category = categories.state === "ok" ? categories.value.find((c) => c.id === product.categoryId)?.name : undefined;

  async function save(e: Event) {
    e.preventDefault();
    const currency = product.price?.currency ?? "USD";
    const ok = await action.run(async () => {
      const { product: p } = await api.catalog.updateProduct({
        productId: product.id,
        product: { name, brand, categoryId, price: { amountMinor: parseAmount(price, currency) ?? -1n, currency } },
        updateMask: { paths: ["name", "brand", "category_id", "price"] },
      });
      onChange(p!);
    });
    if (ok) setEditing(false);
  }

  async function archive() {
    if (!confirm(`Archive ${product.name}? It leaves the storefront; orders keep their copy.`)) return;
    if (await action.run(() => api.catalog.deleteProduct({ productId: product.id }))) window.location.hash = "#/products";
  }

  return (
    <section class="panel" aria-labelledby="product-h">
      <h1 id="product-h">{product.name}</h1>
      {!editing ? (
        <>
          <dl class="facts">
            <dt>SKU</dt><dd>{product.sku}</dd>
            <dt>Brand</dt><dd>{product.brand || "—"}</dd>
            <dt>Category</dt><dd>{category ?? "…"}</dd>
            <dt>Price</dt><dd>{formatMoney(product.price)}</dd>
            <dt>Options</dt><dd>{product.options.map((o) => `${o.name}: ${o.values.join(", ")}`).join("; ") || "none"}</dd>
          </dl>
          <div class="actions">
            <button type="button" onClick={() => setEditing(true)}>Edit details</button>
            <a class="button" href={`/#/product/${product.id}`}>View in the storefront</a>
            <button type="button" class="danger" disabled={action.busy} onClick={() => void archive()}>Archive product</button>
          </div>
        </>
      ) : (
        <form onSubmit={save} noValidate>
          <div class="grid2">
            <Field label="Name" name="name" value={name} onInput={setName} problem={action.problem} />
            <Field label="Brand" name="brand" value={brand} onInput={setBrand} problem={action.problem} />
            <Input label="Price" name="price" inputMode="decimal" value={price} onInput={setPrice} error={at(action.errors, "price")} />
            <SelectField
              label="Category"
              name="category_id"
              value={categoryId}
              onChange={setCategoryId}
              problem={action.problem}
              options={categories.state === "ok" ? categories.value.map((c) => [c.id, c.name] as const) : [[categoryId, "…"]]}
            />
          </div>
          <div class="actions">
            <button type="submit" class="primary" disabled={action.busy}>Save details</button>
            <button type="button" onClick={() => setEditing(false)}>Cancel</button>
          </div>
        </form>
      )}
      <FormError problem={action.problem} shown={["name", "brand", "price", "amount_minor", "currency", "category_id"]} />
    </section>
  );
}

function Images({ product, onChange }: { product: Product; onChange: (p: Product) => void }) {
  const [file, setFile] = useState<File>();
  const [alt, setAlt] = useState("");
  const [variantId, setVariantId] = useState("");
  const [round, setRound] = useState(0);
  const action = useAction();

  async function upload(e: Event) {
    e.preventDefault();
    if (!file) return void action.run(() => Promise.reject(new Error("Choose an image file first.")));
    const ok = await action.run(async () => {
      const media = await api.catalog.uploadMedia({ body: await fileBody(file) });
      const { product: p } = await api.catalog.addProductImage({ productId: product.id, mediaId: media.mediaId, alt: alt || product.name, variantId });
      onChange(p!);
    });
    if (ok) {
      setFile(undefined);
      setAlt("");
      setRound((r) => r + 1); // a fresh file input
    }
  }

  return (
    <section aria-labelledby="images-h">
      <h2 id="images-h">Images</h2>
      {product.images.length === 0 ? (
        <Empty>No images yet.</Empty>
      ) : (
        <ul class="image-grid" aria-label="Images of the product">
          {product.images.map((img) => (
            <li key={img.id}>
              <img src={img.url} alt={img.alt} width={120} height={120} loading="lazy" />
              <span class="hint">{img.alt}</span>
              <button
                type="button"
                aria-label={`Remove image ${img.alt || img.id}`}
                onClick={() =>
                  void action.run(async () => onChange((await api.catalog.removeProductImage({ productId: product.id, imageId: img.id })).product!))
                }
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <form class="panel" onSubmit={upload} noValidate aria-label="Upload an image">
        <div class="grid3">
          <Input key={round} label="Image file" name="image" type="file" accept="image/png,image/jpeg,image/webp" onFile={setFile} error={at(action.errors, "body") ?? at(action.errors, "media_id")} hint="PNG, JPEG or WebP" />
          <Input label="Alt text" name="alt" value={alt} onInput={setAlt} error={at(action.errors, "alt")} />
          {product.variants.length > 1 && (
            <SelectField
              label="Shown for variant"
              name="variant_id"
              value={variantId}
              onChange={setVariantId}
              error={at(action.errors, "variant_id")}
              options={[["", "All variants"], ...product.variants.map((v) => [v.id, v.title || v.sku] as const)]}
            />
          )}
        </div>
        <button type="submit" class="primary" disabled={action.busy}>{action.busy ? "Uploading…" : "Upload image"}</button>
        <FormError problem={action.problem} shown={["body", "media_id", "alt", "variant_id"]} />
      </form>
    </section>
  );
}

function stockOf(stock: GetStockResponse | undefined, variant: Variant) {
  return stock?.variants.find((s) => s.variantId === variant.id) ?? (stock?.variants.length === 1 ? stock.variants[0] : undefined);
}

function VariantRow(props: {
  product: Product;
  variant: Variant;
  stock: GetStockResponse | undefined;
  chosen: boolean;
  onChoose: () => void;
  onChange: (p: Product) => void;
}) {
  const { product, variant } = props;
  const [editing, setEditing] = useState(false);
  const [sku, setSku] = useState(variant.sku);
  const [price, setPrice] = useState(amountText(variant.price));
  const action = useAction();
  const level = stockOf(props.stock, variant);
  const title = variant.title || "Default variant";
  const archived = variant.status === VariantStatus.ARCHIVED;
  const currency = product.price?.currency ?? "USD";

  async function save(e: Event) {
    e.preventDefault();
    const own = price.trim() ? { amountMinor: parseAmount(price, currency) ?? -1n, currency } : undefined;
    const ok = await action.run(async () => {
      const r = await api.catalog.updateVariant({
        productId: product.id,
        variantId: variant.id,
        variant: { sku, price: own },
        updateMask: { paths: ["sku", "price"] },
      });
      props.onChange(r.product!);
    });
    if (ok) setEditing(false);
  }

  return (
    <li class={`row variant${props.chosen ? " chosen" : ""}${archived ? " archived" : ""}`} data-variant-id={variant.id} data-sku={variant.sku}>
      <div class="row-main">
        <strong>{title}</strong> <span class="hint">{variant.sku}</span>
        <div>
          {formatMoney(variant.unitPrice ?? product.price)}
          {variant.price ? " (own price)" : ""} · {enumLabel(VariantStatus[variant.status])} ·{" "}
          <span data-testid="variant-stock">
            {level ? `${level.available} available, ${level.onHand ?? "?"} on hand, ${level.reserved ?? "?"} reserved` : "stock …"}
          </span>
        </div>
      </div>
      {editing ? (
        <form class="inline" onSubmit={save} noValidate>
          <Input label={`SKU of ${title}`} name="sku" value={sku} onInput={setSku} error={at(action.errors, "sku") ?? at(action.errors, "variant.sku")} />
          <Input label={`Price of ${title}`} name="price" inputMode="decimal" value={price} onInput={setPrice} error={at(action.errors, "price") ?? at(action.errors, "variant.price")} hint="Empty: the product's price" />
          <div class="actions">
            <button type="submit" class="primary" disabled={action.busy}>Save variant</button>
            <button type="button" onClick={() => setEditing(false)}>Cancel</button>
          </div>
        </form>
      ) : (
        <div class="actions">
          <button type="button" aria-pressed={props.chosen} onClick={props.onChoose} aria-label={`Stock of ${title}`}>Stock</button>
          {!archived && (
            <>
              <button type="button" onClick={() => setEditing(true)} aria-label={`Edit ${title}`}>Edit</button>
              <button
                type="button"
                class="danger"
                aria-label={`Archive ${title}`}
                disabled={action.busy}
                onClick={() =>
                  confirm(`Archive ${title}? It can no longer be ordered.`) &&
                  void action.run(async () => props.onChange((await api.catalog.archiveVariant({ productId: product.id, variantId: variant.id })).product!))
                }
              >
                Archive
              </button>
            </>
          )}
        </div>
      )}
      <FormError problem={action.problem} shown={editing ? ["sku", "price", "amount_minor", "currency"] : []} />
    </li>
  );
}

function AddVariant({ product, onChange }: { product: Product; onChange: (p: Product) => void }) {
  const [values, setValues] = useState<string[]>(product.options.map((o) => o.values[0] ?? ""));
  const [sku, setSku] = useState("");
  const [price, setPrice] = useState("");
  const [stock, setStock] = useState("0");
  const action = useAction();
  const currency = product.price?.currency ?? "USD";

  async function submit(e: Event) {
    e.preventDefault();
    const ok = await action.run(async () => {
      const r = await api.catalog.addVariant({
        productId: product.id,
        variant: {
          sku,
          optionValues: product.options.map((o, i) => ({ name: o.name, value: values[i] ?? "" })),
          price: price.trim() ? { amountMinor: parseAmount(price, currency) ?? -1n, currency } : undefined,
          initialStock: Number.parseInt(stock || "0", 10),
        },
      });
      onChange(r.product!);
    });
    if (ok) {
      setSku("");
      setPrice("");
    }
  }

  return (
    <details class="panel">
      <summary>Add a variant</summary>
      <form onSubmit={submit} noValidate>
        <div class="grid3">
          {product.options.map((o, i) => (
            <Input
              key={o.name}
              label={o.name}
              name={`variant.option_values[${i}].value`}
              value={values[i] ?? ""}
              onInput={(v) => setValues(values.map((x, j) => (j === i ? v : x)))}
              error={at(action.errors, `variant.option_values[${i}]`)}
              hint={`e.g. ${o.values.join(", ")}`}
            />
          ))}
          <Input label="New variant SKU" name="sku" value={sku} onInput={setSku} error={at(action.errors, "variant.sku")} />
          <Input label="New variant price" name="price" inputMode="decimal" value={price} onInput={setPrice} error={at(action.errors, "variant.price")} hint="Empty: the product's price" />
          <Input label="New variant stock" name="initial_stock" type="number" value={stock} onInput={setStock} error={at(action.errors, "variant.initial_stock")} />
        </div>
        <button type="submit" class="primary" disabled={action.busy}>Add variant</button>
        <FormError problem={action.problem} shown={["sku", "price", "initial_stock", "value", "amount_minor", "currency", "option_values"]} />
      </form>
    </details>
  );
}

function StockPanel(props: {
  product: Product;
  variant: Variant;
  stock: GetStockResponse | undefined;
  ledgerRound: number;
  onChange: () => void;
}) {
  const { product, variant } = props;
  const title = variant.title || product.name;
  const level = stockOf(props.stock, variant);
  const [onHand, setOnHand] = useState("");
  const [setReason, setSetReason] = useState("");
  const [delta, setDelta] = useState("");
  const [adjustReason, setAdjustReason] = useState("");
  const setAction = useAction();
  const adjustAction = useAction();
  const [done, setDone] = useState("");
  const [tokens, setTokens] = useState<string[]>([""]);
  const pageToken = tokens[tokens.length - 1] ?? "";
  const [ledger] = useLoad(
    () => api.inventory.listStockMovements({ productId: product.id, variantId: variant.id, pageSize: 20, pageToken }),
    [variant.id, pageToken, props.ledgerRound],
  );

  async function set(e: Event) {
    e.preventDefault();
    setDone("");
    const ok = await setAction.run(() =>
      api.inventory.setStock({ productId: product.id, variantId: variant.id, onHand: Number.parseInt(onHand, 10), reason: setReason }),
    );
    if (ok) {
      setDone(`Stock of ${title} set to ${onHand}.`);
      setOnHand("");
      setSetReason("");
      setTokens([""]);
      props.onChange();
    }
  }
  async function adjust(e: Event) {
    e.preventDefault();
    setDone("");
    const ok = await adjustAction.run(() =>
      api.inventory.adjustStock({ productId: product.id, variantId: variant.id, delta: Number.parseInt(delta, 10) || 0, reason: adjustReason }),
    );
    if (ok) {
      setDone(`Stock of ${title} adjusted by ${delta}.`);
      setDelta("");
      setAdjustReason("");
      setTokens([""]);
      props.onChange();
    }
  }

  return (
    <section class="stock" aria-labelledby="stock-h">
      <h2 id="stock-h">Stock of {title}</h2>
      <p data-testid="stock-figures">
        {level ? (
          <>
            <strong>{level.available}</strong> available · <strong>{level.onHand ?? "?"}</strong> on hand · <strong>{level.reserved ?? "?"}</strong> reserved
          </>
        ) : (
          "No stock figures yet."
        )}
      </p>
      {done && <p class="ok" role="status">{done}</p>}
      <div class="grid2">
        <form class="panel" onSubmit={set} noValidate aria-label="Set stock">
          <h3>Set stock (a count)</h3>
          <Input label="Counted on hand" name="on_hand" type="number" inputMode="numeric" value={onHand} onInput={setOnHand} error={at(setAction.errors, "on_hand")} required />
          <Input label="Reason for the count" name="reason" value={setReason} onInput={setSetReason} error={at(setAction.errors, "reason")} hint="Optional, e.g. stock take Q3" />
          <button type="submit" class="primary" disabled={setAction.busy}>Set stock</button>
          <FormError problem={setAction.problem} shown={["on_hand", "reason"]} />
        </form>
        <form class="panel" onSubmit={adjust} noValidate aria-label="Adjust stock">
          <h3>Adjust stock</h3>
          <Input label="Change (+ received, − written off)" name="delta" type="number" inputMode="numeric" value={delta} onInput={setDelta} error={at(adjustAction.errors, "delta")} required />
          <Input label="Reason for the change" name="reason" value={adjustReason} onInput={setAdjustReason} error={at(adjustAction.errors, "reason")} required />
          <button type="submit" class="primary" disabled={adjustAction.busy}>Adjust stock</button>
          <FormError problem={adjustAction.problem} shown={["delta", "reason"]} />
        </form>
      </div>
      <h3>Movements</h3>
      {ledger.state === "loading" && <Loading what="the movements" />}
      {ledger.state === "failed" && <FormError problem={ledger.problem} />}
      {ledger.state === "ok" && ledger.value.movements.length === 0 && <Empty>No movements yet.</Empty>}
      {ledger.state === "ok" && ledger.value.movements.length > 0 && (
        <>
          <div class="table-wrap">
            <table class="stack" aria-label="Stock movements">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Kind</th>
                  <th scope="col">On hand</th>
                  <th scope="col">Reserved</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Order</th>
                </tr>
              </thead>
              <tbody>
                {ledger.value.movements.map((m) => (
                  <tr key={m.id}>
                    <td data-label="When">{formatTime(m.createdAt)}</td>
                    <td data-label="Kind">{enumLabel(StockMovementKind[m.kind])}</td>
                    <td data-label="On hand">{signed(m.onHandDelta)} → {m.onHandAfter}</td>
                    <td data-label="Reserved">{signed(m.reservedDelta)} → {m.reservedAfter}</td>
                    <td data-label="Reason">{m.reason}</td>
                    <td data-label="Order">{m.orderId ? <a href={`#/order/${m.orderId}`}>{m.orderId.slice(-8)}</a> : ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav class="pager" aria-label="Movement pages">
            <button type="button" disabled={tokens.length <= 1} onClick={() => setTokens(tokens.slice(0, -1))}>Newer</button>
            <button type="button" disabled={!ledger.value.nextPageToken} onClick={() => setTokens([...tokens, ledger.value.nextPageToken])}>Older</button>
          </nav>
        </>
      )}
    </section>
  );
}

const signed = (n: number) => (n > 0 ? `+${n}` : String(n));
