// Which page is shown. UI-only state: it lives in the location hash, so a
// reload (or a WebDriver test) can open a page directly.

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

function parse(hash: string): PageId {
  const id = hash.replace(/^#\/?/, "");
  return pages.find((p) => p.id === id)?.id ?? "overview";
}

class Router {
  current = $state<PageId>(parse(globalThis.location?.hash ?? ""));

  constructor() {
    globalThis.addEventListener?.("hashchange", () => {
      this.current = parse(location.hash);
    });
  }

  go(id: PageId) {
    this.current = id;
    if (location.hash !== `#/${id}`) location.hash = `/${id}`;
  }
}

export const router = new Router();
