// A product: its images, a variant picker showing each variant's price and stock, a
// quantity, and add to cart (a signed-out visitor signs in first, then it is added).
import { useState } from "preact/hooks";
import { type Product, type Variant, VariantStatus } from "../../gen/mart/product/v1/product_pb.js";
import { formatMoney, formatRange } from "../../lib/money.js";
import { type Problem, problemOf } from "../../lib/problems.js";
import { api, session } from "../api.js";
import { noteCart, pendingAdd } from "../state.js";
import { Field, FormError, Loading, useId, useLoad } from "../../ui/ui.js";

export function ProductPage({ id }: { id: string }) {
  const [loaded] = useLoad(() => api.catalog.getProduct({ productId: id }), [id]);
  if (loaded.state === "loading") return <main class="page"><Loading what="the product" /></main>;
  if (loaded.state === "failed")
    return (
      <main class="page">
        <FormError problem={loaded.problem} />
        <a href="#/">Back to the shop</a>
      </main>
    );
  const product = loaded.value.product;
  if (!product) return <main class="page"><p>This product is gone.</p></main>;
  return <ProductView key={product.id} product={product} />;
}

function stockText(v: Variant): string {
  if (v.availableStock === undefined) return "";
  return v.availableStock > 0 ? `${v.availableStock} in stock` : "out of stock";
}

function ProductView({ product }: { product: Product }) {
  const variants = product.variants.filter((v) => v.status === VariantStatus.ACTIVE);
  const single = product.options.length === 0 && variants.length === 1;
  const [chosen, setChosen] = useState<string>(single ? (variants[0]?.id ?? "") : "");
  const [quantity, setQuantity] = useState("1");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem>();
  const [added, setAdded] = useState(false);
  const variant = variants.find((v) => v.id === chosen);
  const images = product.images;
  const shown = variant?.imageUrl || images[0]?.url;
  const [picked, setPicked] = useState<string>();
  const mainImage = picked ?? shown;
  const groupId = useId("variants");
  const soldOut = variant?.availableStock === 0;

  async function add(e: Event) {
    e.preventDefault();
    if (!variant) return;
    const qty = Number.parseInt(quantity, 10) || 1;
    if (!session.signedIn) {
      pendingAdd.set({ variantId: variant.id, quantity: qty, next: "#/cart" });
      window.location.hash = "#/signin?mode=register";
      return;
    }
    setBusy(true);
    setProblem(undefined);
    setAdded(false);
    try {
      noteCart((await api.orders.addCartItem({ variantId: variant.id, quantity: qty })).cart);
      setAdded(true);
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="page product">
      <p class="crumbs">
        <a href="#/">← All products</a>
      </p>
      <div class="product-body">
        <section class="gallery" aria-label="Images">
          {mainImage ? (
            <img class="main-image" src={mainImage} alt={product.name} width={480} height={480} />
          ) : (
            <div class="no-image big" aria-hidden="true" />
          )}
          {images.length > 1 && (
            <ul class="thumbs">
              {images.map((img) => (
                <li key={img.id}>
                  <button type="button" onClick={() => setPicked(img.url)} aria-label={`Show image: ${img.alt || product.name}`}>
                    <img src={img.url} alt="" width={64} height={64} loading="lazy" />
                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section class="buy">
          <h1>{product.name}</h1>
          {product.brand && <p class="brand-name">{product.brand}</p>}
          <p class="price" data-testid="price">
            {variant ? formatMoney(variant.unitPrice) : formatRange(product.priceRange?.min, product.priceRange?.max)}
          </p>
          {product.description && <p class="description">{product.description}</p>}
          <form onSubmit={add}>
            {!single && (
              <fieldset class="variants" aria-describedby={problem?.fields.variant_id ? `${groupId}-error` : undefined}>
                <legend>Choose {product.options.map((o) => o.name).join(" and ") || "a variant"}</legend>
                {variants.map((v) => (
                  <label key={v.id} class={`variant${v.availableStock === 0 ? " sold-out" : ""}`}>
                    <input
                      type="radio"
                      name="variant"
                      value={v.id}
                      checked={chosen === v.id}
                      onChange={() => {
                        setChosen(v.id);
                        setPicked(undefined);
                        setAdded(false);
                      }}
                    />
                    <span class="variant-title">{v.title || v.sku}</span>
                    <span class="variant-price">{formatMoney(v.unitPrice)}</span>
                    <span class="variant-stock">{stockText(v)}</span>
                  </label>
                ))}
                {problem?.fields.variant_id && (
                  <small class="error" id={`${groupId}-error`} role="alert">
                    {problem.fields.variant_id}
                  </small>
                )}
              </fieldset>
            )}
            {single && variant && <p class="stock-line">{stockText(variant) || (product.inStock ? "In stock" : "Out of stock")}</p>}
            <Field
              label="Quantity"
              name="quantity"
              type="number"
              min={1}
              max={99}
              value={quantity}
              onInput={setQuantity}
              problem={problem}
            />
            <FormError problem={problem} shown={["quantity", "variant_id"]} />
            <button type="submit" class="primary" disabled={!variant || busy || soldOut}>
              {busy ? "Adding…" : soldOut ? "Out of stock" : "Add to cart"}
            </button>
            {!variant && <p class="hint">Pick one above to add it to your cart.</p>}
            {added && (
              <p class="ok" role="status">
                Added to your cart. <a href="#/cart">View cart</a>
              </p>
            )}
          </form>
        </section>
      </div>
    </main>
  );
}
