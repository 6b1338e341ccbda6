// One app's connection to the shop: grpc-web (binary) to the page's own origin, which is
// the edge; a session kept under its own storage key (the storefront and the admin console
// sign in separately). Sign-in calls go over a transport without the token interceptor,
// so a refresh never waits on itself.
import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { UserService } from "../gen/mart/user/v1/user_pb.js";
import { clients } from "./clients.js";
import { Session, authInterceptor } from "./session.js";

export function shopApi(refreshKey: string, baseUrl = window.location.origin) {
  const plain = createGrpcWebTransport({ baseUrl, useBinaryFormat: true });
  const auth = createClient(UserService, plain);
  const session = new Session({
    storage: storage(),
    key: refreshKey,
    refresh: (refreshToken) => auth.refreshToken({ refreshToken }),
    // Refresh tokens rotate: tabs take turns (Web Locks; absent outside secure contexts).
    exclusive: (run) => (navigator.locks ? navigator.locks.request(`${refreshKey}.lock`, run) : run()),
  });
  const api = clients(
    createGrpcWebTransport({ baseUrl, useBinaryFormat: true, interceptors: [authInterceptor(session)] }),
  );

  /** Signs in with email and password; the caller shows what went wrong. */
  async function signIn(email: string, password: string): Promise<void> {
    session.signIn(await auth.login({ email, password }));
  }

  /** Revokes the refresh token (best effort) and forgets the session. */
  async function signOut(): Promise<void> {
    const refreshToken = session.refreshToken();
    if (refreshToken) await api.users.logout({ refreshToken }).catch(() => undefined);
    session.signOut();
  }

  return { auth, session, api, signIn, signOut };
}

function storage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}
