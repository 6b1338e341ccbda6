// Products: search by text and category, paged; each links to its page (variants, images,
// stock). Archived products are not listed (the catalog hides them).
import { useState } from "preact/hooks";
import { formatRange } from "../../lib/money.js";
import { href } from "../../lib/route.js";
import { Empty, FormError, Loading, useLoad } from "../../ui/ui.js";
import { api } from "../api.js";
import { Input, SelectField } from "../controls.js";
import { allCategories } from "./categories.js";

export function ProductsPage({ query }: { query: URLSearchParams }) {
  const q = query.get("q") ?? "";
  const category = query.get("category") ?? "";
  const [text, setText] = useState(q);
  const [tokens, setTokens] = useState<string[]>([""]);
  const pageToken = tokens[tokens.length - 1] ?? "";
  const [categories] = useLoad(allCategories, []);
  const [loaded] = useLoad(
    () => api.catalog.listProducts({ q, categoryId: category, pageSize: 20, pageToken }),
    [q, category, pageToken],
  );
  const names = new Map(categories.state === "ok" ? categories.value.map((c) => [c.id, c.name]) : []);

  function go(next: { q?: string; category?: string }) {
    setTokens([""]);
    const params: Record<string, string> = {};
    const nq = next.q ?? q;
    const nc = next.category ?? category;
    if (nq) params.q = nq;
    if (nc) params.category = nc;
    window.location.hash = href(["products"], params);
  }

  return (
    <main class="page">
      <div class="title-row">
        <h1>Products</h1>
        <a class="button primary" href="#/products/new">
          New product
        </a>
      </div>
      <form
        class="filters-row"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          go({ q: text });
        }}
      >
        <Input label="Search products" name="q" type="search" value={text} onInput={setText} />
        <SelectField
          label="Category"
          name="category_id"
          value={category}
          onChange={(c) => go({ category: c })}
          options={[["", "All categories"], ...(categories.state === "ok" ? categories.value.map((c) => [c.id, c.name] as const) : [])]}
        />
        <button type="submit">Search</button>
      </form>
      {loaded.state === "loading" && <Loading what="products" />}
      {loaded.state === "failed" && <FormError problem={loaded.problem} />}
      {loaded.state === "ok" && loaded.value.products.length === 0 && (
        <Empty>{q || category ? "No products match." : "No products yet."}</Empty>
      )}
      {loaded.state === "ok" && loaded.value.products.length > 0 && (
        <>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">SKU</th>
                  <th scope="col">Category</th>
                  <th scope="col">Price</th>
                  <th scope="col">Variants</th>
                  <th scope="col">Available</th>
                </tr>
              </thead>
              <tbody>
                {loaded.value.products.map((p) => {
                  const prices = p.variants.map((v) => v.unitPrice ?? p.price);
                  const sorted = [...prices].sort((a, b) => Number((a?.amountMinor ?? 0n) - (b?.amountMinor ?? 0n)));
                  return (
                    <tr key={p.id} data-product-id={p.id}>
                      <td>
                        <a href={href(["product", p.id])}>{p.name}</a>
                        {p.brand && <div class="hint">{p.brand}</div>}
                      </td>
                      <td>{p.sku}</td>
                      <td>{names.get(p.categoryId) ?? ""}</td>
                      <td>{formatRange(sorted[0] ?? p.price, sorted[sorted.length - 1] ?? p.price)}</td>
                      <td>{p.variants.length}</td>
                      <td>{p.availableStock ?? "—"}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <nav class="pager" aria-label="Pages">
            <button type="button" disabled={tokens.length <= 1} onClick={() => setTokens(tokens.slice(0, -1))}>
              Previous page
            </button>
            <span>Page {tokens.length}</span>
            <button
              type="button"
              disabled={!loaded.value.nextPageToken}
              onClick={() => setTokens([...tokens, loaded.value.nextPageToken])}
            >
              Next page
            </button>
          </nav>
        </>
      )}
    </main>
  );
}
