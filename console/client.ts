/**
 * The browser bundle's entry: installs twind for classes that islands add
 * after the server rendered, then hydrates every `[data-island]` element
 * with its props. Sets `data-hydrated` on `<html>` when done (tests wait
 * for it).
 *
 * @module
 */
import { install } from "@twind/core";
import { type FunctionComponent, h, hydrate } from "preact";
import { type IslandName, ISLANDS } from "./islands/_registry.ts";
import config from "./twind.config.ts";

install(config);
for (const element of document.querySelectorAll<HTMLElement>("[data-island]")) {
  const component = ISLANDS[element.dataset.island as IslandName] as FunctionComponent<object>;
  hydrate(h(component, JSON.parse(element.dataset.props ?? "{}")), element);
}
document.documentElement.dataset.hydrated = "true";
