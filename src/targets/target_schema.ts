/**
 * `targets/schema.json`, the JSON Schema every target profile obeys, as a
 * module: bundled with the code, so a browser (verify) has it without a
 * file system.
 *
 * @module
 */
import schema from "../../targets/schema.json" with { type: "json" };
import type { JsonSchema } from "./schema.ts";

/** The target profile schema (draft 2020-12). */
export const TARGET_SCHEMA: JsonSchema = schema as JsonSchema;
