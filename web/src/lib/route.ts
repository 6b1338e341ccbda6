// Hash routes (`#/product/<id>?…`): the edge serves one index.html and needs no fallback.
export interface Route {
  /** Path segments after `#/`, decoded: `#/product/x` → ["product", "x"]. */
  parts: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, "");
  const [path = "", search = ""] = raw.split("?", 2);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(search) };
}

export function href(parts: string[], query?: URLSearchParams | Record<string, string>): string {
  const search = query ? new URLSearchParams(query).toString() : "";
  return `#/${parts.map(encodeURIComponent).join("/")}${search ? `?${search}` : ""}`;
}
