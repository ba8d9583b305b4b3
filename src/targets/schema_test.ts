// Our JSON Schema subset: each keyword's message, and refusal of keywords it does not check.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { type JsonSchema, schemaErrors } from "./schema.ts";

const Schema = suite("targets: JSON Schema subset");

const S: JsonSchema = {
  type: "object",
  properties: {
    dtype: { enum: ["int8", "uint8"] },
    kind: { const: "int8" },
    on: { type: "boolean" },
    n: { type: "integer", minimum: 1, maximum: 9 },
    name: { type: "string", minLength: 1, pattern: "^[a-z]+$" },
    list: { type: "array", items: { type: "integer", minimum: 0 }, minItems: 1, maxItems: 3, uniqueItems: true },
    nested: { $ref: "#/$defs/nested" },
    map: { type: "object", propertyNames: { pattern: "^[A-Z]" }, additionalProperties: { type: ["object", "null"] } },
  },
  additionalProperties: false,
  if: { required: ["kind"] },
  else: { required: ["on"] },
  $defs: { nested: { type: "object", properties: { x: { type: "number" } }, required: ["x"], additionalProperties: false } },
};

const table: [string, unknown, string[]][] = [
  ["a valid value", { kind: "int8", dtype: "uint8", n: 3, list: [0, 2], nested: { x: 1.5 }, map: { A: {}, B: null } }, []],
  ["a wrong type", { on: "yes" }, ['on must be a boolean, got "yes"']],
  ["an integer that is not", { on: true, n: 1.5 }, ["n must be an integer, got 1.5"]],
  ["out of range", { on: true, n: 0 }, ["n must be ≥ 1, got 0"]],
  ["above the maximum", { on: true, n: 10 }, ["n must be ≤ 9, got 10"]],
  ["not in the enum", { on: true, dtype: "int4" }, ['dtype must be one of "int8", "uint8", got "int4"']],
  ["not the constant", { kind: "int4" }, ['kind must be "int8", got "int4"']],
  ["an empty string", { on: true, name: "" }, ["name must not be empty", 'name must match ^[a-z]+$, got ""']],
  ["an item of the wrong type", { on: true, list: [1, "2"] }, ['list[1] must be an integer, got "2"']],
  ["too few items", { on: true, list: [] }, ["list must have at least 1 item, got 0"]],
  ["too many items", { on: true, list: [1, 2, 3, 4] }, ["list must have at most 3 items, got 4"]],
  ["a repeated item", { on: true, list: [1, 1] }, ["list repeats 1"]],
  ["an unknown field", { on: true, colour: 1 }, ["unknown field colour (expected one of dtype, kind, on, n, name, list, nested, map)"]],
  ["a missing field through $ref", { on: true, nested: {} }, ["missing field nested.x (a number)"]],
  ["an unknown nested field", { on: true, nested: { x: 1, y: 2 } }, ["unknown field nested.y (expected one of x)"]],
  ["if/else: the else branch", {}, ["missing field on (a boolean)"]],
  ["a key breaking propertyNames", { on: true, map: { a: {} } }, ["map.a is not a valid key: must match ^[A-Z], got \"a\""]],
  ["a map value of the wrong type", { on: true, map: { A: 1 } }, ["map.A must be an object or null, got 1"]],
  ["the root of the wrong type", [], ["the value must be an object, got an array"]],
];

for (const [what, value, want] of table) {
  Schema(`${what}: ${want.length ? want[0] : "no errors"}`, () => assert.equal(schemaErrors(value, S), want));
}

Schema("keywords outside the subset throw instead of being ignored", () => {
  assert.throws(() => schemaErrors(1, { oneOf: [{ type: "integer" }] }), /keyword "oneOf" is not supported/);
  assert.throws(() => schemaErrors(1, { $ref: "other.json#/x" }), /is not local/);
  assert.throws(() => schemaErrors(1, { $ref: "#/$defs/none" }), /points nowhere/);
});

Schema("true and false schemas", () => {
  assert.equal(schemaErrors({ a: 1 }, true), []);
  assert.equal(schemaErrors({ a: 1 }, { properties: { a: false } }), ["a is not allowed"]);
});

Schema.run();
