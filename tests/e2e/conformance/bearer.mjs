// Adds `Authorization: Bearer $CONFORMANCE_BEARER_TOKEN` to every HTTP
// request this Node process sends to $CONFORMANCE_BEARER_ORIGIN.
//
// The conformance suite (`@modelcontextprotocol/conformance`) takes the
// server under test only as `--url`, with no way to send a header; the
// Gatehouse gateway wants every request to carry a client's bearer token.
// Loaded with `node --import`, this covers the three ways the suite sends
// requests: Node's `fetch` (its MCP client and most raw probes) and the
// `undici` package (its DNS-rebinding probes) both go through the process's
// global undici dispatcher, set here; its header-validation probes use
// `http.request`, wrapped here. The token comes from the environment, never
// the command line. Requests to any other origin are left alone.

import http from "node:http";
import { Agent, setGlobalDispatcher } from "undici";

const token = process.env.CONFORMANCE_BEARER_TOKEN;
const origin = process.env.CONFORMANCE_BEARER_ORIGIN;
if (!token || !origin) {
  throw new Error("set CONFORMANCE_BEARER_TOKEN and CONFORMANCE_BEARER_ORIGIN");
}
const target = new URL(origin);
const value = `Bearer ${token}`;

/** `headers` (any form undici takes) with the bearer token added. */
function withBearer(headers) {
  if (headers == null) {
    return { authorization: value };
  }
  if (Array.isArray(headers)) {
    // Either [[name, value], ...] or [name, value, ...].
    return Array.isArray(headers[0])
      ? [...headers, ["authorization", value]]
      : [...headers, "authorization", value];
  }
  if (typeof headers[Symbol.iterator] === "function") {
    return [...headers, ["authorization", value]];
  }
  return { ...headers, authorization: value };
}

setGlobalDispatcher(
  new Agent().compose((dispatch) => (options, handler) => {
    const to = new URL(String(options.origin)).origin;
    return dispatch(to === target.origin ? { ...options, headers: withBearer(options.headers) } : options, handler);
  }),
);

/** Whether `http.request`'s arguments address the target. */
function addressesTarget(first) {
  if (typeof first === "string" || first instanceof URL) {
    return new URL(first).origin === target.origin;
  }
  const host = first?.hostname ?? first?.host ?? "localhost";
  const port = String(first?.port ?? 80);
  return host === target.hostname && port === target.port;
}

const request = http.request;
http.request = function (...args) {
  const req = request.apply(this, args);
  if (addressesTarget(args[0]) && !req.hasHeader("authorization")) {
    req.setHeader("authorization", value);
  }
  return req;
};
