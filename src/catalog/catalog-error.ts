/**
 * Failures of catalog administration: `AIRLOCK_CATALOG_TOOL_UNKNOWN` (no pin for that tool),
 * `AIRLOCK_CATALOG_STALE` (the definition changed again since the diff the admin reviewed),
 * `AIRLOCK_CATALOG_NOTHING_TO_APPROVE`, `AIRLOCK_CATALOG_BAD_INPUT`.
 */
import { AirlockError } from '../errors/airlock-error.js';

export class CatalogError extends AirlockError {}
