// What went wrong with a call, in the shape a form shows it: one message, and the field
// violations the server named (google.rpc.BadRequest in the status details), keyed by the
// request field's proto name so each lands next to its input.
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb.js";

export interface Problem {
  code: Code;
  message: string;
  /** Field path (snake_case, as in the proto) → what is wrong with it. */
  fields: Record<string, string>;
}

export function problemOf(error: unknown): Problem {
  const err = ConnectError.from(error);
  const fields: Record<string, string> = {};
  for (const detail of err.findDetails(BadRequestSchema)) {
    for (const v of detail.fieldViolations) {
      const key = fieldKey(v.field);
      fields[key] = fields[key] ? `${fields[key]}; ${v.description}` : v.description;
    }
  }
  return { code: err.code, message: err.rawMessage || Code[err.code], fields };
}

/** `postalCode` and `postal_code` name the same field; so do `address.city` and `city`. */
export function fieldKey(path: string): string {
  const last = path.split(".").pop() ?? path;
  return last.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * The message for a form's top, given the fields the form shows beside their inputs:
 * violations of those are left to them, any others are spelled out here.
 */
export function summary(problem: Problem, shown: readonly string[] = []): string {
  const named = Object.keys(problem.fields);
  if (named.length === 0) return problem.message;
  const elsewhere = named.filter((f) => !shown.includes(f)).map((f) => `${f}: ${problem.fields[f]}`);
  return elsewhere.length === 0 ? "Please correct the fields marked below." : elsewhere.join("; ");
}
