/**
 * Server rendering: a page's markup plus the styles of exactly the classes
 * it uses, inlined by twind into `<head>`.
 *
 * @module
 */
import { inline, twind, virtual } from "@twind/core";
import type { VNode } from "preact";
import { renderToString } from "preact-render-to-string";
import config from "./twind.config.ts";

// With resume data (`true`) the browser's twind adopts the server's rules instead of adding a second,
// later copy of the base styles that would override them.
const tw = twind(config, virtual(true));

/** The whole HTML document of `page`. */
export function renderPage(page: VNode): string {
  return `<!doctype html>${inline(renderToString(page), tw)}`;
}
