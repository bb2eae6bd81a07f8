// Which page is shown. UI-only state: it lives in the location hash, so a
// reload (or a WebDriver test) can open a page directly. `#/servers/NAME`
// is the detail page of server NAME, under the Servers entry of the menu. A
// query part after `?` carries a page's own state, e.g. `#/history?id=42`
// (the History page with record 42 open).

export const pages = [
  { id: "overview", label: "Overview" },
  { id: "servers", label: "Servers" },
  { id: "clients", label: "Clients" },
  { id: "install", label: "Install" },
  { id: "approvals", label: "Approvals" },
  { id: "history", label: "History" },
  { id: "alerts", label: "Alerts" },
  { id: "settings", label: "Settings" },
] as const;

export type PageId = (typeof pages)[number]["id"];

/** A place in the app: a page, and for `servers` possibly one server. */
export interface Route {
  page: PageId;
  /** The server whose detail page is open. */
  server: string | null;
  /** The query part's parameters, when the hash has one. */
  query?: Record<string, string>;
}

export function parseRoute(hash: string): Route {
  const bare = hash.replace(/^#\/?/, "");
  const mark = bare.indexOf("?");
  const path = mark === -1 ? bare : bare.slice(0, mark);
  const [id = "", ...rest] = path.split("/");
  const page = pages.find((p) => p.id === id)?.id ?? "overview";
  let server: string | null = null;
  if (page === "servers" && rest.length > 0 && rest.join("/") !== "") {
    try {
      server = decodeURIComponent(rest.join("/"));
    } catch {
      server = null;
    }
  }
  // Parsed once into a plain object: the route is the state, not this.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  const query = mark === -1 ? {} : Object.fromEntries(new URLSearchParams(bare.slice(mark + 1)));
  return Object.keys(query).length === 0 ? { page, server } : { page, server, query };
}

/** The hash for `route`, without the leading `#`. */
export function routeHash({ page, server, query }: Route): string {
  const path = server === null ? `/${page}` : `/${page}/${encodeURIComponent(server)}`;
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- only serialised
  const search = new URLSearchParams(query ?? {}).toString();
  return search === "" ? path : `${path}?${search}`;
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

  /** The current route's query parameters (empty if it has none). */
  get query(): Record<string, string> {
    return this.#route.query ?? {};
  }

  go(page: PageId, server: string | null = null, query?: Record<string, string>) {
    this.#route =
      query && Object.keys(query).length > 0 ? { page, server, query } : { page, server };
    const hash = routeHash(this.#route);
    if (location.hash !== `#${hash}`) location.hash = hash;
  }

  /** Opens `server`'s detail page. */
  openServer(server: string) {
    this.go("servers", server);
  }
}

export const router = new Router();

/** The link to audit record `id`, open in the History page's drawer. */
export const historyHref = (id: number) =>
  `#${routeHash({ page: "history", server: null, query: { id: String(id) } })}`;
