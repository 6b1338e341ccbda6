// Sign in with an admin account; a customer's account is refused with a clear message.
import { useState } from "preact/hooks";
import type { User } from "../../gen/mart/user/v1/user_pb.js";
import { type Problem, problemOf } from "../../lib/problems.js";
import { Field, FormError } from "../../ui/ui.js";
import { NotAnAdmin, signInAdmin } from "../account.js";

export function SignInPage({ onSignedIn }: { onSignedIn: (me: User) => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem>();
  const [refused, setRefused] = useState<string>();

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setProblem(undefined);
    setRefused(undefined);
    try {
      onSignedIn(await signInAdmin(email, password));
    } catch (error) {
      if (error instanceof NotAnAdmin) setRefused(error.message);
      else setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="page narrow">
      <h1>Admin console</h1>
      <h2>Sign in</h2>
      <form onSubmit={submit} noValidate>
        <FormError problem={problem} shown={["email", "password"]} />
        {refused && (
          <p class="error banner" role="alert" data-testid="not-admin">
            {refused}
          </p>
        )}
        <Field label="Email" name="email" type="email" autoComplete="username" value={email} onInput={setEmail} problem={problem} required />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onInput={setPassword}
          problem={problem}
          required
        />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <p class="hint">
        Customers shop in the <a href="/">storefront</a>.
      </p>
    </main>
  );
}
