/** @jsxRuntime automatic @jsxImportSource preact */
import Layout from "../components/Layout.tsx";

export interface LoginPageProps {
  /** Where to go after signing in (a local path). */
  next: string;
  error: string | null;
  /** Offer the console token form too. */
  tokenSignIn: boolean;
  /** Offer the user name and password form. */
  passwordSignIn: boolean;
}

const INPUT =
  "mt-1 block w-full rounded border border-gray-400 px-2 py-1.5 focus:outline-none focus:ring-2 focus:ring-blue-600";
const BUTTON =
  "rounded bg-blue-700 px-4 py-2 font-semibold text-white hover:bg-blue-800 focus:outline-none focus:ring-2 focus:ring-blue-600 focus:ring-offset-2";

/** `/login`: user name and password, or the console token. */
export default function LoginPage({ next, error, tokenSignIn, passwordSignIn }: LoginPageProps) {
  return (
    <Layout title="Sign in" user={null} canSignOut={false} csrfToken={null} clientPath={null}>
      <div class="mx-auto max-w-sm space-y-6 rounded-lg border border-gray-300 bg-white p-6">
        <h1 class="text-2xl font-semibold">Sign in</h1>
        {error !== null && (
          <p role="alert" class="rounded border-l-4 border-red-700 bg-red-50 px-3 py-2 text-sm text-red-900">
            <span aria-hidden="true">✖</span> {error}
          </p>
        )}
        {passwordSignIn && (
          <form method="post" action="/login" class="space-y-4">
            <input type="hidden" name="next" value={next} />
            <label class="block text-sm font-medium">
              User name
              <input class={INPUT} name="name" autocomplete="username" required />
            </label>
            <label class="block text-sm font-medium">
              Password
              <input class={INPUT} name="password" type="password" autocomplete="current-password" required />
            </label>
            <button type="submit" class={BUTTON}>Sign in</button>
          </form>
        )}
        {tokenSignIn && (
          <form method="post" action="/login" class="space-y-4 border-t border-gray-200 pt-4">
            <input type="hidden" name="next" value={next} />
            <label class="block text-sm font-medium">
              Console token
              <input class={INPUT} name="token" type="password" autocomplete="off" required />
            </label>
            <button type="submit" class={BUTTON}>Sign in with the token</button>
          </form>
        )}
      </div>
    </Layout>
  );
}
