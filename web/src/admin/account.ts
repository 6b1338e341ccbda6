// Who is signed in to the console: only admins are let in. Any account can sign in to the
// shop, so the role is checked with GetMe after the login, and on every resume.
import { type User, Role } from "../gen/mart/user/v1/user_pb.js";
import { api, session, signIn, signOut } from "./api.js";

export class NotAnAdmin extends Error {
  constructor(readonly email: string) {
    super(`${email} is not an admin account. Sign in with an admin account (customers shop in the storefront).`);
  }
}

/** The signed-in admin, or undefined when signed out; a non-admin session is ended. */
export async function currentAdmin(): Promise<User | undefined> {
  if (!session.signedIn) return undefined;
  await session.token();
  const { user } = await api.users.getMe({});
  if (!user || user.role !== Role.ADMIN) {
    await signOut();
    throw new NotAnAdmin(user?.email ?? "This");
  }
  return user;
}

/** Signs in and checks the role; throws NotAnAdmin (signed out again) for a customer. */
export async function signInAdmin(email: string, password: string): Promise<User> {
  await signIn(email, password);
  const me = await currentAdmin();
  if (!me) throw new Error("The session ended at once; try again.");
  return me;
}
