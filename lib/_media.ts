// Content types Ferry sets itself, named once.

/** `text/plain; charset=utf-8` */
export const TEXT = "text/plain; charset=utf-8";
/** `text/html; charset=utf-8` */
export const HTML = "text/html; charset=utf-8";
/** `application/json` */
export const JSON_TYPE = "application/json";
/** `application/octet-stream` */
export const BYTES = "application/octet-stream";
/** `application/problem+json` (RFC 9457) */
export const PROBLEM = "application/problem+json";
