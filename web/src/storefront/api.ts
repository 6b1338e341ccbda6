// The storefront's connection to the shop and its customer's session.
import { shopApi } from "../lib/shop-api.js";

export const { auth, session, api, signIn, signOut } = shopApi("mart.refreshToken");
