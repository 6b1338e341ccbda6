// Small pieces every page of both apps uses: labelled fields that show the server's
// complaint about them, a form-level error, loading and empty states, loads.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { type Problem, problemOf, summary } from "../lib/problems.js";
import type { Session } from "../lib/session.js";

let nextId = 0;
/** A stable id per component instance, for label/input pairs. */
export function useId(prefix: string): string {
  const [id] = useState(() => `${prefix}-${++nextId}`);
  return id;
}

interface FieldProps {
  label: string;
  /** The request field's proto name: where the server's violation for it is shown. */
  name: string;
  value: string;
  onInput: (value: string) => void;
  problem?: Problem | undefined;
  type?: "text" | "email" | "password" | "number" | "tel";
  required?: boolean;
  autoComplete?: string;
  min?: number;
  max?: number;
  hint?: string;
}

export function Field(props: FieldProps) {
  const id = useId(props.name);
  const error = props.problem?.fields[props.name];
  return (
    <div class={`field${error ? " invalid" : ""}`}>
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={(props.type ?? "text") as "text"}
        value={props.value}
        required={props.required}
        autoComplete={props.autoComplete}
        min={props.min}
        max={props.max}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        onInput={(e) => props.onInput((e.currentTarget as HTMLInputElement).value)}
      />
      {props.hint && !error && <small class="hint">{props.hint}</small>}
      {error && (
        <small class="error" id={`${id}-error`} role="alert">
          {error}
        </small>
      )}
    </div>
  );
}

/** The form-level message of a failed call (field messages are beside their fields). */
export function FormError({ problem, shown }: { problem?: Problem | undefined; shown?: readonly string[] }) {
  if (!problem) return null;
  return (
    <p class="error banner" role="alert">
      {summary(problem, shown)}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/** Re-renders when the session signs in or out. */
export function useSignedIn(session: Session): boolean {
  const [signedIn, setSignedIn] = useState(session.signedIn);
  useEffect(() => session.subscribe(() => setSignedIn(session.signedIn)), []);
  return signedIn;
}

/** The state of one load: its value, its failure, or still loading. */
export type Loaded<T> = { state: "loading" } | { state: "ok"; value: T } | { state: "failed"; problem: Problem };

/** Runs `load` when `deps` change; the result can be replaced after a mutation. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): [Loaded<T>, (value: T) => void, () => void] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: "loading" });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setLoaded({ state: "loading" });
    load().then(
      (value) => live && setLoaded({ state: "ok", value }),
      (error: unknown) => live && setLoaded({ state: "failed", problem: problemOf(error) }),
    );
    return () => {
      live = false;
    };
  }, [...deps, round]);
  return [loaded, (value) => setLoaded({ state: "ok", value }), () => setRound((r) => r + 1)];
}
