// Prints what each app of the built bundle costs a first visit, gzipped: its HTML and
// every script, preload and stylesheet the HTML names (Vite names all static imports),
// images excluded. Fails if an app is over its 200 KB budget.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";

const out = process.env.MART_WEB_OUT ?? resolve(import.meta.dirname, "../../edge/assets/web");
const BUDGET = 200 * 1024;
let over = false;
for (const [app, html] of [["storefront", "index.html"], ["admin", "admin/index.html"]]) {
  let text;
  try {
    text = readFileSync(join(out, html), "utf8");
  } catch {
    continue;
  }
  const files = [...text.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
  const sizes = [[html, gzipSync(text, { level: 9 }).length]];
  for (const file of files) sizes.push([file, gzipSync(readFileSync(join(out, file)), { level: 9 }).length]);
  const total = sizes.reduce((sum, [, n]) => sum + n, 0);
  console.log(`${app}: ${(total / 1024).toFixed(1)} KB gzipped (${sizes.map(([f, n]) => `${f} ${(n / 1024).toFixed(1)}`).join(", ")})`);
  if (total > BUDGET) over = true;
}
if (over) {
  console.error("an app is over its 200 KB budget");
  process.exit(1);
}
