/** Turns a `file:` URL into a POSIX path (the gates tooling runs on Linux). */
export function fromFileUrl(url: URL): string {
  return decodeURIComponent(url.pathname);
}
