// The catalog: text search, facet filters (category, brand, option values, in stock) and
// paging, all in the hash so a filtered page can be bookmarked and the back button works.
import { useEffect, useState } from "preact/hooks";
import { type Facets, type Product, ProductOrderBy } from "../../gen/mart/product/v1/product_pb.js";
import { formatRange } from "../../lib/money.js";
import { href } from "../../lib/route.js";
import { api } from "../api.js";
import { Empty, FormError, Loading, useId, useLoad } from "../../ui/ui.js";

const PAGE_SIZE = 12;

/** The sort choices: hash value → label and ListProducts' order. */
const SORTS: Record<string, { label: string; orderBy: ProductOrderBy; descending: boolean }> = {
  "": { label: "Newest", orderBy: ProductOrderBy.CREATED, descending: true },
  "price": { label: "Price, low to high", orderBy: ProductOrderBy.PRICE, descending: false },
  "-price": { label: "Price, high to low", orderBy: ProductOrderBy.PRICE, descending: true },
  "name": { label: "Name, A to Z", orderBy: ProductOrderBy.NAME, descending: false },
};

interface Filters {
  q: string;
  category: string;
  brand: string;
  options: string[];
  inStock: boolean;
  sort: string;
}

function filtersOf(query: URLSearchParams): Filters {
  return {
    q: query.get("q") ?? "",
    category: query.get("category") ?? "",
    brand: query.get("brand") ?? "",
    options: query.getAll("option"),
    inStock: query.get("stock") === "1",
    sort: SORTS[query.get("sort") ?? ""] ? (query.get("sort") ?? "") : "",
  };
}

function go(filters: Filters): void {
  const query = new URLSearchParams();
  if (filters.q) query.set("q", filters.q);
  if (filters.category) query.set("category", filters.category);
  if (filters.brand) query.set("brand", filters.brand);
  for (const option of filters.options) query.append("option", option);
  if (filters.inStock) query.set("stock", "1");
  if (filters.sort) query.set("sort", filters.sort);
  window.location.hash = href([], query);
}

export function CatalogPage({ query }: { query: URLSearchParams }) {
  const filters = filtersOf(query);
  const key = query.toString();
  // Tokens of the pages up to this one (the last is the current page's), for these
  // filters only: a token is refused with other filters, so new filters start at page 1.
  const [paging, setPaging] = useState({ key, tokens: [""] });
  const tokens = paging.key === key ? paging.tokens : [""];
  const setTokens = (next: string[]) => setPaging({ key, tokens: next });
  const pageToken = tokens[tokens.length - 1] ?? "";
  const [loaded] = useLoad(
    () =>
      api.catalog.listProducts({
        pageSize: PAGE_SIZE,
        pageToken,
        q: filters.q,
        categoryId: filters.category,
        brand: filters.brand,
        option: filters.options,
        inStock: filters.inStock ? true : undefined,
        orderBy: SORTS[filters.sort]!.orderBy,
        descending: SORTS[filters.sort]!.descending,
      }),
    [key, pageToken],
  );

  return (
    <main class="page catalog">
      <h1 class="visually-hidden">Catalog</h1>
      <SearchBox filters={filters} />
      <div class="catalog-body">
        <aside class="facets" aria-label="Filters">
          {loaded.state === "ok" && <FacetFilters filters={filters} facets={loaded.value.facets} />}
        </aside>
        <section class="results" aria-label="Products" aria-busy={loaded.state === "loading"}>
          {loaded.state === "loading" && <Loading what="products" />}
          {loaded.state === "failed" && <FormError problem={loaded.problem} />}
          {loaded.state === "ok" && loaded.value.products.length === 0 && (
            <Empty>
              No products match. <a href="#/">Clear the filters</a>
            </Empty>
          )}
          {loaded.state === "ok" && (
            <>
              <ul class="cards">
                {loaded.value.products.map((p) => (
                  <ProductCard key={p.id} product={p} />
                ))}
              </ul>
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
        </section>
      </div>
    </main>
  );
}

function SearchBox({ filters }: { filters: Filters }) {
  const [q, setQ] = useState(filters.q);
  useEffect(() => setQ(filters.q), [filters.q]);
  const id = useId("search");
  return (
    <form
      class="search"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        go({ ...filters, q: q.trim() });
      }}
    >
      <label for={id}>Search products</label>
      <div class="row">
        <input id={id} type="search" name="q" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
        <button type="submit">Search</button>
      </div>
    </form>
  );
}

function FacetFilters({ filters, facets }: { filters: Filters; facets: Facets | undefined }) {
  const categoryId = useId("category");
  const brandId = useId("brand");
  const stockId = useId("in-stock");
  const sortId = useId("sort");
  const categories = facets?.categories ?? [];
  const brands = facets?.brands ?? [];
  return (
    <form class="filters" onSubmit={(e) => e.preventDefault()}>
      <div class="field">
        <label for={sortId}>Sort by</label>
        <select id={sortId} name="sort" value={filters.sort} onChange={(e) => go({ ...filters, sort: e.currentTarget.value })}>
          {Object.entries(SORTS).map(([value, { label }]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </div>
      <h2>Filter</h2>
      <div class="field">
        <label for={categoryId}>Category</label>
        <select
          id={categoryId}
          name="category"
          value={filters.category}
          onChange={(e) => go({ ...filters, category: e.currentTarget.value })}
        >
          <option value="">All categories</option>
          {categories.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label} ({c.count})
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for={brandId}>Brand</label>
        <select
          id={brandId}
          name="brand"
          value={filters.brand}
          onChange={(e) => go({ ...filters, brand: e.currentTarget.value })}
        >
          <option value="">All brands</option>
          {filters.brand && !brands.some((b) => b.value === filters.brand) && (
            <option value={filters.brand}>{filters.brand}</option>
          )}
          {brands.map((b) => (
            <option key={b.value} value={b.value}>
              {b.label} ({b.count})
            </option>
          ))}
        </select>
      </div>
      {(facets?.options ?? []).map((option) => (
        <fieldset key={option.name} class="checks">
          <legend>{option.name}</legend>
          {option.values.map((v) => {
            const token = `${option.name}:${v.value}`;
            const checked = filters.options.includes(token);
            return (
              <label key={token} class="check">
                <input
                  type="checkbox"
                  name="option"
                  value={token}
                  checked={checked}
                  onChange={() =>
                    go({
                      ...filters,
                      options: checked ? filters.options.filter((o) => o !== token) : [...filters.options, token],
                    })
                  }
                />
                {v.label} ({v.count})
              </label>
            );
          })}
        </fieldset>
      ))}
      <div class="check">
        <input
          id={stockId}
          type="checkbox"
          name="in_stock"
          checked={filters.inStock}
          onChange={() => go({ ...filters, inStock: !filters.inStock })}
        />
        <label for={stockId}>In stock only</label>
      </div>
    </form>
  );
}

function ProductCard({ product }: { product: Product }) {
  const image = product.images[0];
  const price = product.priceRange;
  return (
    <li class="card" data-product-id={product.id}>
      <a href={href(["product", product.id])}>
        {image ? (
          <img src={image.url} alt={image.alt || product.name} loading="lazy" width={240} height={240} />
        ) : (
          <div class="no-image" aria-hidden="true" />
        )}
        <span class="name">{product.name}</span>
      </a>
      {product.brand && <span class="brand-name">{product.brand}</span>}
      <span class="price">{price ? formatRange(price.min, price.max) : ""}</span>
      <span class={product.inStock ? "stock in" : "stock out"}>{product.inStock ? "In stock" : "Out of stock"}</span>
    </li>
  );
}
