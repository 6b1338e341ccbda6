// Who is signed in: the access token lives in memory only, the refresh token in storage so
// a reload stays signed in. The access token is renewed a minute before it expires (and on
// demand when a call finds it stale); a refresh the server refuses signs the session out.
import type { Interceptor } from "@connectrpc/connect";

/** What Login, RefreshToken and ChangePassword answer. */
export interface Tokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: bigint | number;
}

/** Where the refresh token is kept unless told otherwise. */
export const REFRESH_KEY = "mart.refreshToken";

/** Renew this long before the access token expires. */
const EARLY_MS = 60_000;

export interface SessionOptions {
  storage: Pick<Storage, "getItem" | "setItem" | "removeItem"> | undefined;
  /** The storage key of the refresh token (default REFRESH_KEY). */
  key?: string;
  /** Calls UserService.RefreshToken (over a transport without this session's interceptor). */
  refresh: (refreshToken: string) => Promise<Tokens>;
  now?: () => number;
  /**
   * Runs a refresh alone among all tabs of the shop (Web Locks in the browser). Refresh
   * tokens rotate, and using a rotated one revokes the whole session, so two tabs must
   * never refresh with the same token: inside the lock, the token is read afresh.
   */
  exclusive?: <T>(run: () => Promise<T>) => Promise<T>;
}

export class Session {
  private access: string | undefined;
  private expiresAt = 0;
  private refreshing: Promise<string | undefined> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private listeners = new Set<() => void>();

  private readonly storage: SessionOptions["storage"];
  private readonly key: string;
  private readonly refresh: SessionOptions["refresh"];
  private readonly now: () => number;
  private readonly exclusive: <T>(run: () => Promise<T>) => Promise<T>;

  constructor(options: SessionOptions) {
    this.storage = options.storage;
    this.key = options.key ?? REFRESH_KEY;
    this.refresh = options.refresh;
    this.now = options.now ?? Date.now;
    this.exclusive = options.exclusive ?? ((run) => run());
  }

  /** Whether there is a session (or one to resume from storage). */
  get signedIn(): boolean {
    return this.access !== undefined || this.refreshToken() !== null;
  }

  refreshToken(): string | null {
    return this.storage?.getItem(this.key) ?? null;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts a session from a Login (or refresh) answer. */
  signIn(tokens: Tokens): void {
    this.access = tokens.accessToken;
    const ms = Number(tokens.expiresIn) * 1000;
    this.expiresAt = this.now() + ms;
    this.storage?.setItem(this.key, tokens.refreshToken);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.renew(), Math.max(ms - EARLY_MS, 5_000));
    this.emit();
  }

  signOut(): void {
    this.access = undefined;
    this.expiresAt = 0;
    clearTimeout(this.timer);
    this.storage?.removeItem(this.key);
    this.emit();
  }

  /** A usable access token, renewing it first when it is (nearly) expired; none if signed out. */
  async token(): Promise<string | undefined> {
    if (this.access !== undefined && this.now() < this.expiresAt - EARLY_MS / 2) return this.access;
    if (this.refreshToken() === null) return undefined;
    return this.renew();
  }

  /** One refresh at a time: concurrent callers share it (the token rotates on use). */
  private renew(): Promise<string | undefined> {
    if (this.refreshToken() === null) return Promise.resolve(undefined);
    this.refreshing ??= this.exclusive(async () => {
      const refreshToken = this.refreshToken();
      if (refreshToken === null) throw new Error("signed out meanwhile");
      return this.refresh(refreshToken);
    })
      .then(
        (tokens) => {
          this.signIn(tokens);
          return this.access;
        },
        (error: unknown) => {
          this.signOut();
          throw error;
        },
      )
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

/** Sends `authorization: Bearer …` on every call while signed in. */
export function authInterceptor(session: Session): Interceptor {
  return (next) => async (req) => {
    const token = await session.token().catch(() => undefined);
    if (token !== undefined) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
}
