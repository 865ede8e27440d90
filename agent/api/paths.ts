/**
 * The paths of the management API. Every versioned path starts with
 * {@linkcode API_BASE}; a breaking change gets a new base instead of a
 * changed path. The probes and `/metrics` sit outside the version prefix,
 * where load balancers and scrapers expect them.
 *
 * @module
 */

export const API_VERSION = "v1";
export const API_BASE = `/api/${API_VERSION}`;
/** `GET`: node information and every open index's metrics snapshot. */
export const REPORT = `${API_BASE}/report`;
/** `POST`: flush one index or all of them. */
export const ACTION_FLUSH = `${API_BASE}/actions/flush`;
/** `POST`: compact one index or all of them. */
export const ACTION_COMPACT = `${API_BASE}/actions/compact`;
/** `GET` and `PATCH` with `?indexName=`: an index's runtime configuration. */
export const CONFIG = `${API_BASE}/config`;
/** `GET` with `?offset=&limit=`: a page of the audit trail. */
export const AUDIT = `${API_BASE}/audit`;
/** `GET`: verifies the hash chain of the audit trail. */
export const AUDIT_VERIFY = `${API_BASE}/audit/verify`;
/** `GET`: the OpenAPI 3.1 description of this API. */
export const OPENAPI = `${API_BASE}/openapi.json`;
/** `GET`: liveness; answers while the process serves requests. */
export const HEALTH = "/health";
/** `GET`: readiness; 200 only while at least one index is open and every open index is READY. */
export const READY = "/ready";
/** `GET`: the Prometheus/OpenMetrics exposition of every open index. */
export const METRICS = "/metrics";
