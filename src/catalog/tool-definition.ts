/**
 * What of a tool is pinned: the fields a model reads or an upstream enforces — `name` (namespaced),
 * `title`, `description`, `inputSchema`, `outputSchema` and `annotations`. `_meta`, `icons` and other
 * presentation fields are not part of the pin. The hash is the SHA-256 of the RFC 8785 canonical JSON
 * of those fields, memoized per tool object (the upstream catalog keeps one object per definition until
 * it changes, so a request never re-hashes).
 *
 * @example
 * const { hash, canonical } = definitionOf(tool); // hash: 64 hex chars
 */

import { sha256Hex } from '../json/canonical-hash.js';
import { canonicalJson } from '../json/canonical-json.js';

/** A tool as listed by an upstream (the SDK's `Tool`, or any object shaped like it). */
export interface ToolLike {
  name: string;
  title?: string;
  description?: string;
  inputSchema?: unknown;
  outputSchema?: unknown;
  annotations?: unknown;
  [key: string]: unknown;
}

/** The pinned part of a tool definition. */
export interface PinnedFields {
  name: string;
  title?: string;
  description?: string;
  inputSchema?: unknown;
  outputSchema?: unknown;
  annotations?: unknown;
}

export interface HashedDefinition {
  fields: PinnedFields;
  /** RFC 8785 canonical JSON of `fields`. */
  canonical: string;
  /** Hex SHA-256 of `canonical`. */
  hash: string;
}

/** The fields of a tool that are pinned. */
export function pinnedFields(tool: ToolLike): PinnedFields {
  const fields: PinnedFields = { name: tool.name };
  if (tool.title !== undefined) fields.title = tool.title;
  if (tool.description !== undefined) fields.description = tool.description;
  if (tool.inputSchema !== undefined) fields.inputSchema = tool.inputSchema;
  if (tool.outputSchema !== undefined) fields.outputSchema = tool.outputSchema;
  if (tool.annotations !== undefined) fields.annotations = tool.annotations;
  return fields;
}

const memo = new WeakMap<object, HashedDefinition>();

/**
 * Canonical form and hash of a tool's pinned fields, memoized per tool object (tool objects must not be
 * mutated after they were hashed; the upstream catalog never does).
 */
export function definitionOf(tool: ToolLike): HashedDefinition {
  const hit = memo.get(tool);
  if (hit) return hit;
  const fields = pinnedFields(tool);
  const canonical = canonicalJson(fields);
  const hashed: HashedDefinition = { fields, canonical, hash: sha256Hex(canonical) };
  memo.set(tool, hashed);
  return hashed;
}
