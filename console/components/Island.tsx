/** @jsxRuntime automatic @jsxImportSource preact */
import { type ComponentProps, type FunctionComponent, h } from "preact";
import { type IslandName, ISLANDS } from "../islands/_registry.ts";

export interface IslandProps<N extends IslandName> {
  name: N;
  props: ComponentProps<typeof ISLANDS[N]>;
}

/** Renders island `name` on the server, with its props in an attribute for the browser to hydrate from. */
export default function Island<N extends IslandName>({ name, props }: IslandProps<N>) {
  const component = ISLANDS[name] as FunctionComponent<object>;
  return (
    <div data-island={name} data-props={JSON.stringify(props)}>
      {h(component, props as object)}
    </div>
  );
}
