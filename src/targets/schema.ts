/**
 * A small JSON Schema (draft 2020-12) validator for the subset
 * `targets/schema.json` uses, with one-line messages that name the field
 * and what was expected: `weights.dtype must be "int8", got "int4"`.
 *
 * Supported keywords: type, enum, const, properties, required,
 * additionalProperties, propertyNames, items, minItems, maxItems,
 * uniqueItems, minimum, maximum, minLength, pattern, allOf, if/then/else,
 * and local `$ref`s (`#/$defs/…`); annotations (title, description, …) are
 * ignored. Any other keyword throws, so a schema never checks less than it says.
 *
 * @module
 */

/** A JSON Schema object (or `true`/`false`). */
export type JsonSchema = boolean | { readonly [keyword: string]: unknown };

const ANNOTATIONS = new Set(["$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples"]);
const KEYWORDS = new Set([
  "$ref", "type", "enum", "const", "properties", "required", "additionalProperties", "propertyNames", "items",
  "minItems", "maxItems", "uniqueItems", "minimum", "maximum", "minLength", "pattern", "allOf", "if", "then", "else",
]);

type Path = readonly (string | number)[];

/**
 * Every violation of `schema` by `value`, as one-line messages, in document
 * order (unknown and mistyped fields before missing ones). Empty when valid.
 *
 * @example
 * ```ts
 * const schema = { type: "object", properties: { dtype: { const: "int8" } }, required: ["dtype"] };
 * schemaErrors({ dtype: "int4" }, schema); // ['dtype must be "int8", got "int4"']
 * schemaErrors({}, schema); // ['missing field dtype ("int8")']
 * ```
 */
export function schemaErrors(value: unknown, schema: JsonSchema): string[] {
  const out: string[] = [];
  check(value, schema, [], schema, out);
  return out;
}

function check(value: unknown, schema: JsonSchema, path: Path, root: JsonSchema, out: string[]): void {
  if (schema === true) return;
  if (schema === false) {
    out.push(`${subject(path)} is not allowed`);
    return;
  }
  for (const k of Object.keys(schema)) {
    if (!KEYWORDS.has(k) && !ANNOTATIONS.has(k)) throw new Error(`JSON Schema keyword "${k}" is not supported by edgeq's validator`);
  }
  const s = schema as Record<string, unknown>;
  if (typeof s.$ref === "string") check(value, resolveRef(s.$ref, root), path, root, out);
  if (s.type !== undefined) {
    const types = ([] as string[]).concat(s.type as string | string[]);
    if (!types.some((t) => isType(value, t))) {
      out.push(`${subject(path)} must be ${types.map(typeWord).join(" or ")}, got ${show(value)}`);
      return;
    }
  }
  if ("const" in s && !equal(value, s.const)) out.push(`${subject(path)} must be ${JSON.stringify(s.const)}, got ${show(value)}`);
  if (Array.isArray(s.enum) && !s.enum.some((e) => equal(value, e))) {
    out.push(`${subject(path)} must be ${expectedEnum(s.enum)}, got ${show(value)}`);
  }
  if (typeof value === "string") checkString(value, s, path, out);
  if (typeof value === "number") checkNumber(value, s, path, out);
  if (Array.isArray(value)) checkArray(value, s, path, root, out);
  else if (isObject(value)) checkObject(value, s, path, root, out);
  if (Array.isArray(s.allOf)) for (const sub of s.allOf) check(value, sub as JsonSchema, path, root, out);
  if (s.if !== undefined) {
    const branch = schemaErrors(value, withRoot(s.if as JsonSchema, root)).length === 0 ? s.then : s.else;
    if (branch !== undefined) check(value, branch as JsonSchema, path, root, out);
  }
}

function checkString(value: string, s: Record<string, unknown>, path: Path, out: string[]): void {
  if (typeof s.minLength === "number" && [...value].length < s.minLength) {
    out.push(s.minLength === 1 ? `${subject(path)} must not be empty` : `${subject(path)} must have at least ${s.minLength} characters`);
  }
  if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(value)) {
    out.push(`${subject(path)} must match ${s.pattern}, got ${show(value)}`);
  }
}

function checkNumber(value: number, s: Record<string, unknown>, path: Path, out: string[]): void {
  if (typeof s.minimum === "number" && value < s.minimum) out.push(`${subject(path)} must be ≥ ${s.minimum}, got ${value}`);
  if (typeof s.maximum === "number" && value > s.maximum) out.push(`${subject(path)} must be ≤ ${s.maximum}, got ${value}`);
}

function checkArray(value: unknown[], s: Record<string, unknown>, path: Path, root: JsonSchema, out: string[]): void {
  const items = (n: number) => `${n} item${n === 1 ? "" : "s"}`;
  if (typeof s.minItems === "number" && value.length < s.minItems) {
    out.push(`${subject(path)} must have at least ${items(s.minItems)}, got ${value.length}`);
  }
  if (typeof s.maxItems === "number" && value.length > s.maxItems) {
    out.push(`${subject(path)} must have at most ${items(s.maxItems)}, got ${value.length}`);
  }
  if (s.uniqueItems === true) {
    const dup = value.find((v, i) => value.findIndex((w) => equal(v, w)) !== i);
    if (dup !== undefined) out.push(`${subject(path)} repeats ${show(dup)}`);
  }
  if (s.items !== undefined) value.forEach((v, i) => check(v, s.items as JsonSchema, [...path, i], root, out));
}

function checkObject(value: Record<string, unknown>, s: Record<string, unknown>, path: Path, root: JsonSchema, out: string[]): void {
  const props = isObject(s.properties) ? s.properties : undefined;
  for (const [k, v] of Object.entries(value)) {
    const here = [...path, k];
    if (isObject(s.propertyNames) || typeof s.propertyNames === "boolean") {
      const errs = schemaErrors(k, withRoot(s.propertyNames as JsonSchema, root));
      if (errs.length) out.push(`${subject(here)} is not a valid key: ${errs[0].replace(/^the value /, "")}`);
    }
    if (props && k in props) check(v, props[k] as JsonSchema, here, root, out);
    else if (s.additionalProperties === false) {
      const known = props ? Object.keys(props).filter((p) => p !== "$schema") : [];
      out.push(`unknown field ${fieldName(here)}${known.length ? ` (expected one of ${known.join(", ")})` : ""}`);
    } else if (s.additionalProperties !== undefined) check(v, s.additionalProperties as JsonSchema, here, root, out);
  }
  if (Array.isArray(s.required)) {
    for (const k of s.required as string[]) {
      if (k in value) continue;
      const expected = expectedAt(root, [...path, k]);
      out.push(`missing field ${fieldName([...path, k])}${expected ? ` (${expected})` : ""}`);
    }
  }
}

/** The schema a local reference (`#/$defs/x`) points to. */
function resolveRef(ref: string, root: JsonSchema): JsonSchema {
  if (!ref.startsWith("#")) throw new Error(`JSON Schema $ref "${ref}" is not local: edgeq's validator follows "#/…" only`);
  let at: unknown = root;
  for (const raw of ref.slice(1).split("/").slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    at = isObject(at) ? at[key] : undefined;
  }
  if (at === undefined) throw new Error(`JSON Schema $ref "${ref}" points nowhere`);
  return at as JsonSchema;
}

/** A sub-schema checked on its own but resolving `$ref`s against `root`. */
function withRoot(schema: JsonSchema, root: JsonSchema): JsonSchema {
  if (typeof schema === "boolean" || typeof root === "boolean") return schema;
  return { ...schema, $defs: root.$defs };
}

/** What the schema expects at `path`, in words, from `properties`/`additionalProperties`. */
function expectedAt(root: JsonSchema, path: Path): string {
  let s: JsonSchema | undefined = root;
  for (const key of path) {
    s = follow(s, root);
    if (!isObject(s)) return "";
    const props: unknown = s.properties;
    s = (isObject(props) && typeof key === "string" && key in props ? props[key] : s.additionalProperties) as JsonSchema | undefined;
  }
  s = follow(s, root);
  if (!isObject(s)) return "";
  if ("const" in s) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return expectedEnum(s.enum);
  if (s.type !== undefined) return ([] as string[]).concat(s.type as string | string[]).map(typeWord).join(" or ");
  return "";
}

function follow(s: JsonSchema | undefined, root: JsonSchema): JsonSchema | undefined {
  while (isObject(s) && typeof s.$ref === "string") s = resolveRef(s.$ref, root);
  return s;
}

function expectedEnum(values: unknown[]): string {
  const words = values.map((v) => JSON.stringify(v));
  return words.length === 1 ? words[0] : `one of ${words.join(", ")}`;
}

function isType(v: unknown, t: string): boolean {
  switch (t) {
    case "object":
      return isObject(v);
    case "array":
      return Array.isArray(v);
    case "integer":
      return Number.isInteger(v);
    case "number":
      return typeof v === "number";
    case "null":
      return v === null;
    default:
      return typeof v === t;
  }
}

function typeWord(t: string): string {
  return t === "null" ? "null" : /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A value in a message: JSON for scalars, its kind for objects and arrays. */
function show(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (isObject(v)) return "an object";
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
}

function fieldName(path: Path): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

function subject(path: Path): string {
  return path.length ? fieldName(path) : "the value";
}
