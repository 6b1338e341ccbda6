// The storefront: mounts the app once the session (if a refresh token was kept) resumes.
import { render } from "preact";
import "../styles.css";
import { App } from "./app.js";
import { session } from "./api.js";
import { refreshCartCount } from "./state.js";

async function start(): Promise<void> {
  // Resume a session kept from an earlier visit; a refused refresh signs out quietly.
  await session.token().catch(() => undefined);
  void refreshCartCount();
  session.subscribe(() => void refreshCartCount());
  render(<App />, document.getElementById("app")!);
}

void start();
