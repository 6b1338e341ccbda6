// Two apps from one build: the storefront (index.html, served by the edge at `/`) and the
// admin console (admin/index.html, at `/admin/`). The bundle goes into the edge's assets,
// which are compiled into the edge binary; asset names carry content hashes, nothing
// carries a time, so the same sources build the same bytes.
import { resolve } from "node:path";
import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

// The apps; MART_WEB_APPS=storefront (or admin) builds one alone, into MART_WEB_OUT, for
// working on one while the other is mid-change. The committed bundle always has both.
const apps: Record<string, string> = {
  storefront: resolve(import.meta.dirname, "index.html"),
  admin: resolve(import.meta.dirname, "admin/index.html"),
};
const only = process.env.MART_WEB_APPS?.split(",");
const input = only ? Object.fromEntries(only.map((name) => [name, apps[name]!])) : apps;
const outDir = process.env.MART_WEB_OUT ?? resolve(import.meta.dirname, "../edge/assets/web");

// Where `npm run dev` sends grpc-web calls and media: a running `mart up`.
const edge = process.env.MART_EDGE_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/",
  plugins: [preact()],
  build: {
    outDir,
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    reportCompressedSize: true,
    rollupOptions: {
      input,
      // What both apps load (Preact, the one stylesheet) is named for what it is.
      output: {
        chunkFileNames: "assets/shared-[hash].js",
        // An app's own stylesheet keeps the app's name; the shared one is "styles".
        assetFileNames: (asset) =>
          asset.names.some((n) => n.endsWith(".css") && !Object.keys(apps).some((app) => n.startsWith(app)))
            ? "assets/styles-[hash][extname]"
            : "assets/[name]-[hash][extname]",
      },
    },
  },
  server: {
    proxy: {
      "^/(mart\\.[a-z]+\\.v1\\.[A-Za-z]+Service)/": { target: edge },
      "/v1/media": { target: edge },
    },
  },
});
