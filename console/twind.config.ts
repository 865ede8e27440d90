/**
 * The one twind configuration, used to render the pages' styles on the
 * server and by the browser bundle for classes that islands add later.
 *
 * @module
 */
import { defineConfig } from "@twind/core";
import presetAutoprefix from "@twind/preset-autoprefix";
import presetTailwind from "@twind/preset-tailwind";

export default defineConfig({
  presets: [presetAutoprefix(), presetTailwind()],
  // Plain class names, so the server's markup and the islands' markup use the same strings.
  hash: false,
});
