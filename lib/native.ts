/**
 * Native middleware: configured in TypeScript, run in Rust around the
 * TypeScript part of each request, with no FFI crossing. Register with
 * `app.use(...)`, like any middleware.
 *
 * @module
 */

/** Settings sent to Rust once, at `listen()`; each factory fills one key. */
export type NativeSettings = Record<string, unknown>;

/**
 * A middleware that runs in Rust. Created by the factories in this module
 * (`cors()`, `compress()`, …) and registered with `app.use()`.
 *
 * @example
 * ```ts
 * import { App, NativeMiddleware } from "@ferry/ferry";
 * const custom = new NativeMiddleware("securityHeaders", {});
 * new App().use(custom);
 * ```
 */
export class NativeMiddleware {
  /** The settings key this middleware fills (e.g. `"cors"`). */
  readonly key: string;
  /** Its settings, serialised to JSON for Rust. */
  readonly settings: unknown;

  /**
   * @param key Settings key understood by the Rust side.
   * @param settings JSON-serialisable settings.
   */
  constructor(key: string, settings: unknown) {
    this.key = key;
    this.settings = settings;
  }

  /** Adds this middleware's settings to `target`. */
  applyTo(target: NativeSettings): void {
    if (this.key in target) {
      throw new TypeError(`Native middleware "${this.key}" is registered twice`);
    }
    target[this.key] = this.settings;
  }
}
