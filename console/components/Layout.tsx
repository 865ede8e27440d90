/** @jsxRuntime automatic @jsxImportSource preact */
import type { ComponentChildren } from "preact";

export interface LayoutProps {
  title: string;
  /** The signed-in person; null on the sign-in page. */
  user: string | null;
  /** Shown only when people sign in; without login there is nothing to sign out of. */
  canSignOut: boolean;
  csrfToken: string | null;
  /** URL of the browser bundle; null on pages without islands. */
  clientPath: string | null;
  children: ComponentChildren;
}

/** The HTML document around every page: header, skip link, main region, bundle. */
export default function Layout(props: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · HestiaStore console`}</title>
        {props.csrfToken !== null && <meta name="csrf-token" content={props.csrfToken} />}
        <link rel="icon" href="data:," />
      </head>
      <body class="min-h-screen bg-gray-50 font-sans text-gray-900">
        <a
          href="#main"
          class="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 focus:text-blue-800"
        >
          Skip to content
        </a>
        <header class="bg-slate-900 text-white">
          <div class="mx-auto flex max-w-screen-2xl flex-wrap items-center justify-between gap-2 px-4 py-3">
            <a href="/" class="text-lg font-semibold focus:outline-none focus:ring-2 focus:ring-white">
              HestiaStore console
            </a>
            {props.user !== null && (
              <div class="flex items-center gap-3 text-sm">
                <span>
                  Signed in as <strong data-field="user">{props.user}</strong>
                </span>
                {props.canSignOut && (
                  <form method="post" action="/logout">
                    <input type="hidden" name="csrf" value={props.csrfToken ?? ""} />
                    <button
                      type="submit"
                      class="rounded border border-white px-2 py-1 hover:bg-slate-700 focus:outline-none focus:ring-2 focus:ring-white"
                    >
                      Sign out
                    </button>
                  </form>
                )}
              </div>
            )}
          </div>
        </header>
        <main id="main" class="mx-auto max-w-screen-2xl space-y-6 p-4">{props.children}</main>
        {props.clientPath !== null && <script type="module" src={props.clientPath}></script>}
      </body>
    </html>
  );
}
