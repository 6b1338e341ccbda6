// The admin console (issue 18): resumes a kept session, checks it is an admin's, and
// mounts the console.
import { render } from "preact";
import "uplot/dist/uPlot.min.css";
import "../styles.css";
import "./admin.css";
import { Admin } from "./app.js";
import { currentAdmin } from "./account.js";

async function start(): Promise<void> {
  // A refused refresh, or an account that is no longer an admin, signs out quietly.
  const me = await currentAdmin().catch(() => undefined);
  render(<Admin initial={me} />, document.getElementById("app")!);
}

void start();
