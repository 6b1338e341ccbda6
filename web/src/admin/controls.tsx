// Form controls the admin pages need beyond the shared `Field`: selects, text areas and
// file inputs, each with a visible label and the server's message for its field beside it;
// also the field violations of a call keyed by their full path (`variants[2].sku`), for
// forms with repeated rows, and small formatting helpers.
import type { ComponentChildren } from "preact";
import { ConnectError } from "@connectrpc/connect";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb.js";
import type { Money } from "../gen/mart/common/v1/common_pb.js";
import type { Problem } from "../lib/problems.js";
import { useId } from "../ui/ui.js";

interface Common {
  label: string;
  /** The request field's proto name, where the server's violation for it is shown. */
  name: string;
  problem?: Problem | undefined;
  /** Overrides the message looked up by `name` (rows of a repeated field). */
  error?: string | undefined;
  hint?: string | undefined;
}

function Frame(props: Common & { id: string; children: ComponentChildren }) {
  const error = props.error ?? props.problem?.fields[props.name];
  return (
    <div class={`field${error ? " invalid" : ""}`}>
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint && !error && <small class="hint">{props.hint}</small>}
      {error && (
        <small class="error" id={`${props.id}-error`} role="alert">
          {error}
        </small>
      )}
    </div>
  );
}

export function SelectField(
  props: Common & { value: string; onChange: (value: string) => void; options: readonly (readonly [string, string])[] },
) {
  const id = useId(props.name);
  const error = props.error ?? props.problem?.fields[props.name];
  return (
    <Frame {...props} id={id}>
      <select
        id={id}
        name={props.name}
        value={props.value}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        onChange={(e) => props.onChange((e.currentTarget as HTMLSelectElement).value)}
      >
        {props.options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
    </Frame>
  );
}

export function TextArea(props: Common & { value: string; onInput: (value: string) => void; rows?: number }) {
  const id = useId(props.name);
  const error = props.error ?? props.problem?.fields[props.name];
  return (
    <Frame {...props} id={id}>
      <textarea
        id={id}
        name={props.name}
        rows={props.rows ?? 3}
        value={props.value}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        onInput={(e) => props.onInput((e.currentTarget as HTMLTextAreaElement).value)}
      />
    </Frame>
  );
}

/** An input of another type than `Field` offers (date, file), or with a row's own error. */
export function Input(
  props: Common & {
    type?: string;
    value?: string;
    onInput?: (value: string) => void;
    onFile?: (file: File | undefined) => void;
    accept?: string;
    inputMode?: "decimal" | "numeric";
    required?: boolean;
  },
) {
  const id = useId(props.name);
  const error = props.error ?? props.problem?.fields[props.name];
  return (
    <Frame {...props} id={id}>
      <input
        id={id}
        name={props.name}
        type={(props.type ?? "text") as "text"}
        value={props.type === "file" ? undefined : props.value}
        accept={props.accept}
        inputMode={props.inputMode}
        required={props.required}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        onInput={(e) => props.onInput?.((e.currentTarget as HTMLInputElement).value)}
        onChange={(e) => props.onFile?.((e.currentTarget as HTMLInputElement).files?.[0])}
      />
    </Frame>
  );
}

/** Field violations by their full path, snake_case: `variants[1].sku` → message. */
export function violations(error: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const detail of ConnectError.from(error).findDetails(BadRequestSchema)) {
    for (const v of detail.fieldViolations) {
      const key = v.field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      out[key] = out[key] ? `${out[key]}; ${v.description}` : v.description;
    }
  }
  return out;
}

/** Digits after the point in `currency` (2 for USD, 0 for JPY). */
export function fractionDigits(currency: string): number {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** "12.50" in USD → 1250n; undefined when not a plain amount (the server then says why). */
export function parseAmount(text: string, currency: string): bigint | undefined {
  const t = text.trim().replace(",", ".");
  const digits = fractionDigits(currency);
  const m = /^(\d+)(?:\.(\d*))?$/.exec(t);
  if (!m || (m[2] ?? "").length > digits) return undefined;
  return BigInt(m[1]! + (m[2] ?? "").padEnd(digits, "0"));
}

/** 1250n USD → "12.50", for an input's value. */
export function amountText(money: Money | undefined): string {
  if (!money) return "";
  const digits = fractionDigits(money.currency);
  const s = money.amountMinor.toString().padStart(digits + 1, "0");
  return digits === 0 ? s : `${s.slice(0, -digits)}.${s.slice(-digits)}`;
}

export function formatTime(ts: Timestamp | undefined): string {
  if (!ts) return "";
  return new Date(Number(ts.seconds) * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** The last characters of a UUIDv7: enough to tell orders apart on a screen. */
export function shortId(id: string): string {
  return id.slice(-8);
}

/** "ORDER_STATUS_AWAITING_PAYMENT"-style enum name (without prefix) → "Awaiting payment". */
export function enumLabel(name: string | undefined): string {
  if (!name) return "Unknown";
  const s = name.toLowerCase().replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The message(s) for a field and everything under it: `price` covers `price.currency`. */
export function at(all: Record<string, string>, prefix: string): string | undefined {
  const hits = Object.entries(all)
    .filter(([k]) => k === prefix || k.startsWith(`${prefix}.`) || k.startsWith(`${prefix}[`))
    .map(([, m]) => m);
  return hits.length ? hits.join("; ") : undefined;
}

/** For a form's banner: the violations no field of the form shows, spelled out. */
export function leftover(all: Record<string, string>, shown: readonly string[]): string[] {
  return Object.entries(all)
    .filter(([k]) => !shown.some((p) => k === p || k.startsWith(`${p}.`) || k.startsWith(`${p}[`)))
    .map(([k, m]) => `${k}: ${m}`);
}

/** Reads a chosen file for UploadMedia (google.api.HttpBody: content type and bytes). */
export async function fileBody(file: File): Promise<{ contentType: string; data: Uint8Array }> {
  return { contentType: file.type || "application/octet-stream", data: new Uint8Array(await file.arrayBuffer()) };
}
