// Cookies (RFC 6265): the one writer of Set-Cookie values and HMAC-SHA256
// signing with key rotation. The Cookie header's one parser is
// `c.req.cookies` (lib/request.ts); the Context methods (`c.cookie()`,
// `c.setCookie()`, …) are thin wrappers.

/** Options of `c.setCookie()` and `c.setSignedCookie()`. */
export interface CookieOptions {
  /** `Path`. @default {"/"} */
  path?: string;
  /** `Domain`; unset keeps the cookie to this host. @default {undefined} */
  domain?: string;
  /** `Max-Age` in seconds (0 or less expires it at once). @default {undefined} */
  maxAge?: number;
  /** `Expires`. @default {undefined} */
  expires?: Date;
  /** `HttpOnly`: scripts cannot read it. @default {false} */
  httpOnly?: boolean;
  /** `Secure`: sent over HTTPS only. Needed by `sameSite: "None"` and `partitioned`. @default {false} */
  secure?: boolean;
  /** `SameSite`. @default {undefined} */
  sameSite?: "Strict" | "Lax" | "None";
  /** `Partitioned` (CHIPS); needs `secure`. @default {false} */
  partitioned?: boolean;
}

/** A secret for signed cookies; with a list, the first signs and every one verifies. */
export type CookieSecret = string | string[];

// RFC 6265 §4.1.1: a token name; cookie-octets, optionally in double quotes.
const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VALUE =
  /^(?:"[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*"|[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*)$/;
// Path and Domain: any CHAR except CTLs and ";" (§4.1.1 av-octet).
const ATTRIBUTE = /^[\x20-\x3A\x3C-\x7E]*$/;

/** Throws a TypeError unless `name` is a valid cookie name. */
export function checkCookieName(name: string): void {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new TypeError(
      `Cookie name ${JSON.stringify(name)} is not valid: use letters, digits and !#$%&'*+-.^_\`|~`,
    );
  }
}

function checkValue(name: string, value: string): void {
  if (typeof value !== "string" || !VALUE.test(value)) {
    throw new TypeError(
      `Cookie ${JSON.stringify(name)} value ${JSON.stringify(value)} is not valid: no spaces, ` +
        "quotes, commas, semicolons, backslashes or non-ASCII; encode it first (e.g. encodeURIComponent)",
    );
  }
}

/**
 * A `Set-Cookie` value. Throws a TypeError for an invalid name, value or
 * attribute, and for combinations browsers refuse (`SameSite=None` or
 * `Partitioned` without `Secure`, the `__Secure-`/`__Host-` prefixes
 * without what they demand).
 */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  checkCookieName(name);
  checkValue(name, value);
  const path = options.path ?? "/";
  let out = `${name}=${value}`;
  if (options.maxAge !== undefined) {
    if (!Number.isFinite(options.maxAge)) {
      throw new TypeError(`Cookie "${name}" maxAge must be a finite number of seconds`);
    }
    out += `; Max-Age=${Math.floor(options.maxAge)}`;
  }
  if (options.expires !== undefined) {
    if (!(options.expires instanceof Date) || isNaN(options.expires.getTime())) {
      throw new TypeError(`Cookie "${name}" expires must be a valid Date`);
    }
    out += `; Expires=${options.expires.toUTCString()}`;
  }
  if (options.domain !== undefined) {
    attribute(name, "domain", options.domain);
    out += `; Domain=${options.domain}`;
  }
  attribute(name, "path", path);
  out += `; Path=${path}`;
  if (options.httpOnly) out += "; HttpOnly";
  if (options.secure) out += "; Secure";
  if (options.sameSite !== undefined) {
    if (!["Strict", "Lax", "None"].includes(options.sameSite)) {
      throw new TypeError(`Cookie "${name}" sameSite must be "Strict", "Lax" or "None"`);
    }
    if (options.sameSite === "None" && !options.secure) {
      throw new TypeError(`Cookie "${name}" with sameSite "None" needs secure: true`);
    }
    out += `; SameSite=${options.sameSite}`;
  }
  if (options.partitioned) {
    if (!options.secure) throw new TypeError(`Cookie "${name}" partitioned needs secure: true`);
    out += "; Partitioned";
  }
  if (name.startsWith("__Secure-") && !options.secure) {
    throw new TypeError(`Cookie "${name}" has the __Secure- prefix and needs secure: true`);
  }
  if (
    name.startsWith("__Host-") &&
    (!options.secure || path !== "/" || options.domain !== undefined)
  ) {
    throw new TypeError(
      `Cookie "${name}" has the __Host- prefix and needs secure: true, path "/" and no domain`,
    );
  }
  return out;
}

function attribute(name: string, what: string, value: string): void {
  if (typeof value !== "string" || !ATTRIBUTE.test(value)) {
    throw new TypeError(`Cookie "${name}" ${what} ${JSON.stringify(value)} is not valid`);
  }
}

const keys = new Map<string, Promise<CryptoKey>>();
const utf8 = new TextEncoder();

function key(secret: string): Promise<CryptoKey> {
  let found = keys.get(secret);
  if (found === undefined) {
    found = crypto.subtle.importKey(
      "raw",
      utf8.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    // Keys are few (one per secret); cache them so each request skips the import.
    if (keys.size < 64) keys.set(secret, found);
  }
  return found;
}

function secrets(secret: CookieSecret): string[] {
  const list = typeof secret === "string" ? [secret] : secret;
  if (!Array.isArray(list) || list.length === 0 || list.some((s) => typeof s !== "string" || !s)) {
    throw new TypeError("A cookie secret must be a non-empty string or a list of them");
  }
  return list;
}

function base64url(bytes: ArrayBuffer): string {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]{43}$/.test(text)) return undefined;
  const bin = atob(text.replaceAll("-", "+").replaceAll("_", "/") + "=");
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
}

/**
 * `value.signature`: HMAC-SHA256 of `value` with the first secret,
 * base64url; the value is percent-encoded (so any string may be signed),
 * and `c.req.cookies` decodes it back.
 */
export async function signCookieValue(value: string, secret: CookieSecret): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await key(secrets(secret)[0]), utf8.encode(value));
  return `${encodeURIComponent(value)}.${base64url(mac)}`;
}

/**
 * The value of a signed cookie when some secret verifies it, else
 * `undefined` (a forged or tampered cookie reads as absent).
 */
export async function verifyCookieValue(
  signed: string | undefined,
  secret: CookieSecret,
): Promise<string | undefined> {
  const list = secrets(secret);
  if (signed === undefined) return undefined;
  const dot = signed.lastIndexOf(".");
  if (dot < 0) return undefined;
  const value = signed.slice(0, dot);
  const mac = fromBase64url(signed.slice(dot + 1));
  if (mac === undefined) return undefined;
  for (const s of list) {
    // verify() compares in constant time.
    if (await crypto.subtle.verify("HMAC", await key(s), mac, utf8.encode(value))) return value;
  }
  return undefined;
}
