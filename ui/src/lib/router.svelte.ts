// Which page is shown. UI-only state: it lives in the location hash, so a
// reload (or a WebDriver test) can open a page directly. `#/servers/NAME`
// is the detail page of server NAME, under the Servers entry of the menu.

export const pages = [
  { id: "overview", label: "Overview" },
  { id: "servers", label: "Servers" },
  { id: "clients", label: "Clients" },
  { id: "install", label: "Install" },
  { id: "approvals", label: "Approvals" },
  { id: "history", label: "History" },
  { id: "settings", label: "Settings" },
] as const;

export type PageId = (typeof pages)[number]["id"];

/** A place in the app: a page, and for `servers` possibly one server. */
export interface Route {
  page: PageId;
  /** The server whose detail page is open. */
  server: string | null;
}

export function parseRoute(hash: string): Route {
  const [id = "", ...rest] = hash.replace(/^#\/?/, "").split("/");
  const page = pages.find((p) => p.id === id)?.id ?? "overview";
  let server: string | null = null;
  if (page === "servers" && rest.length > 0 && rest.join("/") !== "") {
    try {
      server = decodeURIComponent(rest.join("/"));
    } catch {
      server = null;
    }
  }
  return { page, server };
}

/** The hash for `route`, without the leading `#`. */
export function routeHash({ page, server }: Route): string {
  return server === null ? `/${page}` : `/${page}/${encodeURIComponent(server)}`;
}

/** The link to `server`'s detail page. */
export const serverHref = (server: string) => `#${routeHash({ page: "servers", server })}`;

class Router {
  #route = $state<Route>(parseRoute(globalThis.location?.hash ?? ""));

  constructor() {
    globalThis.addEventListener?.("hashchange", () => {
      this.#route = parseRoute(location.hash);
    });
  }

  get current(): PageId {
    return this.#route.page;
  }

  /** The server whose detail page is open, if one is. */
  get server(): string | null {
    return this.#route.server;
  }

  go(page: PageId, server: string | null = null) {
    this.#route = { page, server };
    const hash = routeHash(this.#route);
    if (location.hash !== `#${hash}`) location.hash = hash;
  }

  /** Opens `server`'s detail page. */
  openServer(server: string) {
    this.go("servers", server);
  }
}

export const router = new Router();
