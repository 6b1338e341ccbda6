// Shipping addresses: how one reads on a line, and the form that adds one (used by
// checkout and the account page).
import { useState } from "preact/hooks";
import type { Address } from "../gen/mart/user/v1/user_pb.js";
import { type Problem, problemOf } from "../lib/problems.js";
import { Field, FormError } from "../ui/ui.js";
import { api } from "./api.js";

export function addressLine(a: { label: string; line1: string; line2: string; city: string; postalCode: string; country: string }): string {
  return [a.label && `${a.label}:`, a.line1, a.line2, `${a.postalCode} ${a.city}`, a.country].filter(Boolean).join(", ");
}

export function AddAddress({ onAdded, startOpen }: { onAdded: (a: Address) => void; startOpen: boolean }) {
  const empty = { label: "", line1: "", line2: "", city: "", postalCode: "", country: "" };
  const [form, setForm] = useState(empty);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem>();
  const set = (k: keyof typeof empty) => (v: string) => setForm({ ...form, [k]: v });

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setProblem(undefined);
    try {
      const { address } = await api.users.addAddress({ ...form, country: form.country.trim().toUpperCase() });
      if (address) onAdded(address);
      setForm(empty);
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  }

  const fields = ["label", "line1", "line2", "city", "postal_code", "country"];
  return (
    <details class="add-address" open={startOpen}>
      <summary>Add an address</summary>
      <form onSubmit={submit} noValidate>
        <FormError problem={problem} shown={fields} />
        <Field label="Label (optional)" name="label" value={form.label} onInput={set("label")} problem={problem} />
        <Field label="Street and number" name="line1" autoComplete="address-line1" value={form.line1} onInput={set("line1")} problem={problem} required />
        <Field label="Address line 2 (optional)" name="line2" autoComplete="address-line2" value={form.line2} onInput={set("line2")} problem={problem} />
        <Field label="City" name="city" autoComplete="address-level2" value={form.city} onInput={set("city")} problem={problem} required />
        <Field label="Postal code" name="postal_code" autoComplete="postal-code" value={form.postalCode} onInput={set("postalCode")} problem={problem} required />
        <Field
          label="Country code"
          name="country"
          autoComplete="country"
          value={form.country}
          onInput={set("country")}
          problem={problem}
          required
          hint="Two letters, e.g. GB, US, DE."
        />
        <button type="submit" disabled={busy}>
          {busy ? "Saving…" : "Save address"}
        </button>
      </form>
    </details>
  );
}
