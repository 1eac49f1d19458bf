/**
 * Mesos' JSON reading rules, in one place, applied before a Mesos message is parsed by its
 * schema (stout's `protobuf::parse`): `null` means the field is unset, a number field takes a
 * numeric string too (`"refuse_seconds": "5"`, int64s as clients write them), unknown keys are
 * ignored (the schemas strip them), enums are names (a number for an enum is refused, as Mesos
 * refuses it). Existing scheduler libraries send `"framework_id": null` on their first SUBSCRIBE.
 *
 * ```ts
 * const call = parseMesosJson(CallSchema, { type: "SUBSCRIBE", framework_id: null, subscribe });
 * ```
 */
import { z } from "zod";

const NUMERIC = /^\s*-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/** `value` as Mesos reads it for `schema`: nulls unset, numeric strings as numbers. */
export function fromMesosJson(schema: z.ZodTypeAny, value: unknown): unknown {
  const s = unwrap(schema);
  if (s instanceof z.ZodNumber) {
    return typeof value === "string" && NUMERIC.test(value) ? Number(value) : value;
  }
  if (Array.isArray(value)) {
    return s instanceof z.ZodArray ? value.map((v) => fromMesosJson(s.element, v)) : value;
  }
  if (!isObject(value)) return value;
  if (s instanceof z.ZodObject) return fields(value, (key) => s.shape[key]);
  if (s instanceof z.ZodDiscriminatedUnion) {
    const option: z.ZodTypeAny | undefined = s.optionsMap.get(value[s.discriminator] as never);
    return option ? fromMesosJson(option, value) : fields(value, () => undefined);
  }
  if (s instanceof z.ZodRecord) return fields(value, () => s.valueSchema);
  return fields(value, () => undefined);
}

/** Parses a Mesos JSON message by `schema` after reading it as Mesos does (`fromMesosJson`). */
export function parseMesosJson<T extends z.ZodTypeAny>(
  schema: T,
  value: unknown,
): z.SafeParseReturnType<unknown, z.output<T>> {
  return schema.safeParse(fromMesosJson(schema, value));
}

function fields(
  value: Record<string, unknown>,
  schemaOf: (key: string) => z.ZodTypeAny | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === null) continue;
    const schema = schemaOf(key);
    out[key] = schema ? fromMesosJson(schema, v) : v;
  }
  return out;
}

/** The schema under optional/nullable/default/refinement/lazy wrappers. */
function unwrap(schema: z.ZodTypeAny): z.ZodTypeAny {
  for (let s = schema;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
    else if (s instanceof z.ZodDefault) s = s._def.innerType;
    else if (s instanceof z.ZodEffects) s = s.innerType();
    else if (s instanceof z.ZodLazy) s = s.schema;
    else if (s instanceof z.ZodBranded) s = s.unwrap();
    else if (s instanceof z.ZodPipeline) s = s._def.in;
    else return s;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
