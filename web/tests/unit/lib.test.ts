// The storefront's plain logic, without a browser: error details to field messages,
// money, hash routes, idempotency keys and the session's token handling.
import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../../src/gen/google/rpc/error_details_pb.js";
import { fieldKey, problemOf, summary } from "../../src/lib/problems.js";
import { formatMoney, formatRange } from "../../src/lib/money.js";
import { href, parseHash } from "../../src/lib/route.js";
import { newRequestId } from "../../src/lib/ids.js";
import { REFRESH_KEY, Session, type Tokens } from "../../src/lib/session.js";

test("field violations from the status details land on their fields", () => {
  const detail = create(BadRequestSchema, {
    fieldViolations: [
      { field: "password", description: "at least 10 characters" },
      { field: "address.postalCode", description: "required" },
    ],
  });
  const err = new ConnectError("invalid request", Code.InvalidArgument, undefined, [
    { desc: BadRequestSchema, value: detail },
  ]);
  const problem = problemOf(err);
  assert.equal(problem.code, Code.InvalidArgument);
  assert.deepEqual(problem.fields, { password: "at least 10 characters", postal_code: "required" });
  assert.equal(summary(problem, ["password", "postal_code"]), "Please correct the fields marked below.");
  assert.equal(summary(problem, ["password"]), "postal_code: required");
});

test("an error without details keeps its message", () => {
  const problem = problemOf(new ConnectError("cart is empty", Code.InvalidArgument));
  assert.equal(problem.message, "cart is empty");
  assert.deepEqual(problem.fields, {});
  assert.equal(fieldKey("variants[0].initialStock"), "initial_stock");
});

test("money is shown in its currency's minor units", () => {
  assert.equal(formatMoney({ amountMinor: 1250n, currency: "USD" } as never, "en-US"), "$12.50");
  assert.equal(formatMoney({ amountMinor: 500n, currency: "JPY" } as never, "en-US"), "¥500");
  const low = { amountMinor: 500n, currency: "USD" } as never;
  const high = { amountMinor: 900n, currency: "USD" } as never;
  assert.equal(formatRange(low, low, "en-US"), "$5.00");
  assert.equal(formatRange(low, high, "en-US"), "$5.00 – $9.00");
  assert.equal(formatMoney(undefined), "");
});

test("hash routes round-trip", () => {
  const route = parseHash(href(["product", "a b"], { option: "Size:M" }));
  assert.deepEqual(route.parts, ["product", "a b"]);
  assert.equal(route.query.get("option"), "Size:M");
  assert.deepEqual(parseHash("").parts, []);
  assert.deepEqual(parseHash("#/").parts, []);
});

test("request ids are fresh UUIDs", () => {
  const a = newRequestId();
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(a, newRequestId());
});

class MemoryStorage {
  items = new Map<string, string>();
  getItem(k: string) {
    return this.items.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.items.set(k, v);
  }
  removeItem(k: string) {
    this.items.delete(k);
  }
}

test("the session keeps the refresh token only, and refreshes once for many callers", async () => {
  let now = 1_000_000;
  const storage = new MemoryStorage();
  let refreshes = 0;
  const session = new Session({
    storage,
    refresh: async (token): Promise<Tokens> => {
      refreshes++;
      assert.equal(token, `refresh-${refreshes - 1}`);
      return { accessToken: `access-${refreshes}`, refreshToken: `refresh-${refreshes}`, expiresIn: 900n };
    },
    now: () => now,
  });
  assert.equal(session.signedIn, false);
  assert.equal(await session.token(), undefined);
  session.signIn({ accessToken: "access-0", refreshToken: "refresh-0", expiresIn: 900n });
  assert.equal(storage.getItem(REFRESH_KEY), "refresh-0");
  assert.ok(![...storage.items.values()].includes("access-0"), "the access token is not stored");
  assert.equal(await session.token(), "access-0");
  now += 880_000; // within the last minute: renew first
  const [a, b] = await Promise.all([session.token(), session.token()]);
  assert.equal(refreshes, 1);
  assert.equal(a, "access-1");
  assert.equal(b, "access-1");
  assert.equal(storage.getItem(REFRESH_KEY), "refresh-1");
  session.signOut();
  assert.equal(storage.getItem(REFRESH_KEY), null);
});

test("a refused refresh signs out", async () => {
  const storage = new MemoryStorage();
  storage.setItem(REFRESH_KEY, "revoked");
  const session = new Session({
    storage,
    refresh: () => Promise.reject(new ConnectError("revoked", Code.Unauthenticated)),
  });
  assert.equal(session.signedIn, true);
  await assert.rejects(session.token());
  assert.equal(session.signedIn, false);
});

test("a refresh reads the token inside the lock, so a tab never reuses a rotated one", async () => {
  const storage = new MemoryStorage();
  storage.setItem(REFRESH_KEY, "old");
  const used: string[] = [];
  const session = new Session({
    storage,
    refresh: async (token) => {
      used.push(token);
      return { accessToken: "a", refreshToken: "newer", expiresIn: 900n };
    },
    // Another tab refreshes while this one waits for the lock.
    exclusive: async (run) => {
      storage.setItem(REFRESH_KEY, "rotated-by-another-tab");
      return run();
    },
  });
  assert.equal(await session.token(), "a");
  assert.deepEqual(used, ["rotated-by-another-tab"]);
  session.signOut();
});
