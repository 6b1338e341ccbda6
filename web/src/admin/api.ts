// The admin console's connection to the shop: its own session (kept apart from a customer
// session the same browser may have in the storefront).
import { shopApi } from "../lib/shop-api.js";

export const { auth, session, api, signIn, signOut } = shopApi("mart.admin.refreshToken");
