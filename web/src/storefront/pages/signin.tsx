// Sign in, or create an account (then sign in with it). A cart addition asked for while
// signed out is made right after.
import { useState } from "preact/hooks";
import { type Problem, problemOf } from "../../lib/problems.js";
import { api, auth, signIn } from "../api.js";
import { noteCart, pendingAdd } from "../state.js";
import { Field, FormError } from "../../ui/ui.js";

export function SignInPage({ mode }: { mode: "signin" | "register" }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [firstName, setFirstName] = useState("");
  const [lastName, setLastName] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem>();
  const registering = mode === "register";
  const waiting = pendingAdd.use();

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setProblem(undefined);
    try {
      if (registering) await auth.register({ email, password, firstName, lastName });
      await signIn(email, password);
      const add = pendingAdd.get();
      pendingAdd.set(undefined);
      if (add) noteCart((await api.orders.addCartItem({ variantId: add.variantId, quantity: add.quantity })).cart);
      // Signed in, the header's links show at once: go on only if none was followed meanwhile.
      if (window.location.hash.startsWith("#/signin")) window.location.hash = add ? add.next : "#/";
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="page narrow">
      <h1>{registering ? "Create an account" : "Sign in"}</h1>
      {waiting && <p class="hint">Sign in or create an account, and we add your item to the cart.</p>}
      <form onSubmit={submit} noValidate>
        <FormError problem={problem} shown={["email", "password", "first_name", "last_name"]} />
        <Field label="Email" name="email" type="email" autoComplete="email" value={email} onInput={setEmail} problem={problem} required />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete={registering ? "new-password" : "current-password"}
          value={password}
          onInput={setPassword}
          problem={problem}
          required
          hint={registering ? "At least 10 characters." : undefined}
        />
        {registering && (
          <>
            <Field label="First name" name="first_name" autoComplete="given-name" value={firstName} onInput={setFirstName} problem={problem} />
            <Field label="Last name" name="last_name" autoComplete="family-name" value={lastName} onInput={setLastName} problem={problem} />
          </>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Please wait…" : registering ? "Create account" : "Sign in"}
        </button>
      </form>
      <p>
        {registering ? (
          <>
            Have an account? <a href="#/signin">Sign in</a>
          </>
        ) : (
          <>
            New here? <a href="#/signin?mode=register">Create an account</a>
          </>
        )}
      </p>
    </main>
  );
}
