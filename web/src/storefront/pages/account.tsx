// The customer's account: who is signed in, and their saved addresses (add, delete).
import { useState } from "preact/hooks";
import { type Problem, problemOf } from "../../lib/problems.js";
import { api, session } from "../api.js";
import { AddAddress, addressLine } from "../addresses.js";
import { Empty, FormError, Loading, useLoad, useSignedIn } from "../../ui/ui.js";

export function AccountPage() {
  const signedIn = useSignedIn(session);
  if (!signedIn)
    return (
      <main class="page">
        <p>
          <a href="#/signin">Sign in</a> to see your account.
        </p>
      </main>
    );
  return <Account />;
}

function Account() {
  const [me] = useLoad(async () => (await api.users.getMe({})).user, []);
  const [addresses, setAddresses] = useLoad(async () => (await api.users.listAddresses({})).addresses, []);
  const [problem, setProblem] = useState<Problem>();
  const list = addresses.state === "ok" ? addresses.value : [];

  async function remove(id: string) {
    setProblem(undefined);
    try {
      await api.users.deleteAddress({ addressId: id });
      setAddresses(list.filter((a) => a.id !== id));
    } catch (error) {
      setProblem(problemOf(error));
    }
  }

  return (
    <main class="page account">
      <h1>Your account</h1>
      {me.state === "loading" && <Loading what="your account" />}
      {me.state === "failed" && <FormError problem={me.problem} />}
      {me.state === "ok" && me.value && (
        <p>
          {me.value.firstName} {me.value.lastName} — {me.value.email}
        </p>
      )}
      <h2>Addresses</h2>
      {addresses.state === "loading" && <Loading what="your addresses" />}
      {addresses.state === "failed" && <FormError problem={addresses.problem} />}
      <FormError problem={problem} />
      {addresses.state === "ok" && list.length === 0 && <Empty>No saved addresses.</Empty>}
      <ul class="address-list">
        {list.map((a) => (
          <li key={a.id}>
            <span>{addressLine(a)}</span>{" "}
            <button type="button" class="link" onClick={() => void remove(a.id)} aria-label={`Delete the address ${addressLine(a)}`}>
              Delete
            </button>
          </li>
        ))}
      </ul>
      <AddAddress startOpen={addresses.state === "ok" && list.length === 0} onAdded={(a) => setAddresses([...list, a])} />
    </main>
  );
}
