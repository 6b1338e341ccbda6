// A real shop for browser stories: the `mart` binary on a fresh data dir and a free port,
// seeded through the API with the generated clients (grpc-web from Node), and a Chromium
// driven by playwright-core. Until the edge serves the bundle itself, `front` is a small
// server in front of it: the built files from edge/assets/web, everything else proxied.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, request, type Server } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { homedir, tmpdir } from "node:os";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { chromium, type Browser } from "playwright-core";
import { clients, type Clients } from "../../src/lib/clients.js";
import { UserService } from "../../src/gen/mart/user/v1/user_pb.js";

const here = fileURLToPath(new URL(".", import.meta.url));
/** web/, found from tests/browser/ or from .test-build/tests/browser/. */
const webDir = resolve(here, here.includes(".test-build") ? "../../.." : "../..");
/** The built bundle the front server serves (MART_WEB_OUT when a build went elsewhere). */
export const bundleDir = process.env.MART_WEB_OUT ?? resolve(webDir, "../edge/assets/web");

export const ADMIN_EMAIL = "admin@example.com";
export const ADMIN_PASSWORD = "a long admin passphrase";

export function martBin(): string {
  if (process.env.MART_BIN) return process.env.MART_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache/mart-target");
  return join(target, "debug/mart");
}

export function chromiumPath(): string {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  // The Debian launcher script only adds flags; the binary itself starts faster and quieter.
  return ["/usr/lib/chromium/chromium", "/usr/bin/chromium"].find(existsSync) ?? "/usr/bin/chromium";
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  await new Promise((ok) => server.close(ok));
  return port;
}

export interface Shop {
  /** The edge: REST, gRPC and grpc-web. */
  edge: string;
  /** Where the browser goes: the edge when it serves the storefront, else the front server. */
  url: string;
  /** Whether `url` is the edge itself. */
  servedByEdge: boolean;
  dataDir: string;
  /** Everything the shop printed, for failure messages. */
  log: () => string;
  /** Typed clients over grpc-web; `as(token)` sends that bearer token. */
  api: (token?: string) => Clients;
  login: (email: string, password: string) => Promise<string>;
  stop: () => Promise<void>;
}

/** Starts `mart up`; `env` adds settings (e.g. a short MART_ACCESS_TOKEN_TTL). */
export async function startShop(env: Record<string, string> = {}): Promise<Shop> {
  const bin = martBin();
  if (!existsSync(bin)) throw new Error(`no mart binary at ${bin} (build it, or set MART_BIN)`);
  const dataDir = await mkdtemp(join(tmpdir(), "mart-web-"));
  const port = await freePort();
  const edge = `http://127.0.0.1:${port}`;
  let output = "";
  const child: ChildProcess = spawn(bin, ["up"], {
    env: {
      ...process.env,
      MART_DATA_DIR: dataDir,
      MART_HTTP_ADDR: `127.0.0.1:${port}`,
      MART_BOOTSTRAP_ADMIN_EMAIL: ADMIN_EMAIL,
      MART_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
      RUST_LOG: process.env.RUST_LOG ?? "warn",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((ok) => child.on("exit", ok));

  const stopChild = async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };

  try {
    await waitReady(edge, exited, () => output);
  } catch (error) {
    await stopChild();
    throw error;
  }

  const servedByEdge = await edgeServesStorefront(edge);
  const front = servedByEdge ? undefined : await startFront(edge);
  const url = front ? `http://127.0.0.1:${(front.address() as AddressInfo).port}` : edge;

  const api = (token?: string) => {
    const auth: Interceptor = (next) => (req) => {
      if (token) req.header.set("authorization", `Bearer ${token}`);
      return next(req);
    };
    return clients(createGrpcWebTransport({ baseUrl: edge, httpVersion: "1.1", interceptors: [auth] }));
  };
  const users = createClient(UserService, createGrpcWebTransport({ baseUrl: edge, httpVersion: "1.1" }));

  return {
    edge,
    url,
    servedByEdge,
    dataDir,
    log: () => output,
    api,
    login: async (email, password) => (await users.login({ email, password })).accessToken,
    stop: async () => {
      if (front) await new Promise((ok) => front.close(ok));
      await stopChild();
      if (!process.env.KEEP_DATA) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function waitReady(edge: string, exited: Promise<number | null>, log: () => string): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`mart up exited before it was ready:\n${log()}`);
    try {
      const res = await fetch(`${edge}/readyz`);
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((ok) => setTimeout(ok, 200));
  }
  throw new Error(`mart up was not ready within 90 s:\n${log()}`);
}

/**
 * Whether the edge serves this very bundle at `/`: its index.html is the one on disk
 * (a binary built before the last `npm run build` embeds an older one). Set
 * MART_WEB_REQUIRE_EDGE=1 to fail rather than fall back to the front server, and
 * MART_WEB_FRONT=1 to use the front server anyway, MART_WEB_EDGE_AS_IS=1 to take whatever
 * bundle the edge serves.
 */
async function edgeServesStorefront(edge: string): Promise<boolean> {
  if (process.env.MART_WEB_FRONT === "1") return false;
  const built = await readFile(join(bundleDir, "index.html"), "utf8").catch(() => "");
  let served = "";
  try {
    const res = await fetch(`${edge}/`);
    if (res.ok) served = await res.text();
  } catch {
    // Not served: fall through.
  }
  if (served && served === built) return true;
  // To try the edge's own bundle whatever it is (the binary may be older than the sources).
  if (process.env.MART_WEB_EDGE_AS_IS === "1" && served.includes('<div id="app">')) return true;
  const why = !served.includes('<div id="app">')
    ? "the edge does not serve the storefront at /"
    : "the edge serves an older bundle than edge/assets/web (rebuild mart)";
  if (process.env.MART_WEB_REQUIRE_EDGE === "1") throw new Error(why);
  console.log(`# ${why}: using a front server over the built files`);
  return false;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** The edge's policy for its pages when Stripe is not configured (edge/src/web.rs). */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; connect-src 'self'; " +
  "frame-src 'none'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/** Serves the built bundle (as the edge does, with its CSP) and proxies everything else to the edge. */
async function startFront(edge: string): Promise<Server> {
  const target = new URL(edge);
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const isPage = req.method === "GET" && (path === "/" || path === "/admin" || path === "/admin/" || path.startsWith("/assets/"));
    if (isPage) {
      const file = path === "/" ? "index.html" : path.startsWith("/admin") ? "admin/index.html" : path.slice(1);
      const full = normalize(join(bundleDir, file));
      if (!full.startsWith(bundleDir)) return void res.writeHead(404).end();
      try {
        const body = await readFile(full);
        const type = TYPES[extname(full)] ?? "application/octet-stream";
        const headers: Record<string, string> = { "content-type": type };
        if (type.startsWith("text/html")) headers["content-security-policy"] = CSP;
        res.writeHead(200, headers).end(body);
      } catch {
        res.writeHead(404).end();
      }
      return;
    }
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return server;
}

/** `mart demo-data` against the shop: fifty products in six categories, through the API. */
export async function runDemoData(shop: Shop): Promise<void> {
  const child = spawn(martBin(), ["demo-data", "--url", shop.edge], {
    env: { ...process.env, MART_BOOTSTRAP_ADMIN_EMAIL: ADMIN_EMAIL, MART_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((ok) => child.on("exit", ok));
  if (code !== 0) throw new Error(`mart demo-data failed (${code}):\n${output}`);
}

export async function launchBrowser(): Promise<Browser> {
  const path = chromiumPath();
  if (!existsSync(path)) throw new Error(`no Chromium at ${path}: install Debian's (apt-get install -y chromium) or set CHROMIUM`);
  return chromium.launch({ executablePath: path, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}

/** A 1×1 PNG, enough for the media upload and an <img> to load. */
export const PIXEL_PNG = Uint8Array.from(
  Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
    "base64",
  ),
);
