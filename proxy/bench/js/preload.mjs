// Preloaded into the bench's node process (node --import): resolve bare imports from tests/node/node_modules
// (WC_NODE_MODULES) and refuse non-loopback network access at once, so the offline SDK fails fast.
import { register } from "node:module";
import { pathToFileURL } from "node:url";
import dns from "node:dns";
import net from "node:net";

const modules = process.env.WC_NODE_MODULES;
if (modules) {
  register("./resolve_hooks.mjs", import.meta.url, {
    data: { parentURL: pathToFileURL(`${modules}/../package.json`).href },
  });
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\]|::ffff:127(\.\d{1,3}){3})$/i;
export const isLoopback = (host) => LOOPBACK.test(String(host ?? "localhost"));
const refused = (what) =>
  Object.assign(new Error(`offline guard: ${what} refused (non-loopback)`), { code: "ECONNREFUSED" });

const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
  if (!isLoopback(url.hostname)) throw new TypeError(refused(`fetch ${url.origin}`).message);
  return realFetch(input, init);
};

const realConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  let opts = Array.isArray(args[0]) ? args[0][0] : args[0];
  let host;
  if (opts !== null && typeof opts === "object") {
    if (opts.path) return realConnect.apply(this, args); // unix socket
    host = opts.host;
  } else if (typeof opts === "number" || /^\d+$/.test(String(opts))) {
    host = typeof args[1] === "string" ? args[1] : undefined;
  } else {
    return realConnect.apply(this, args); // unix socket path
  }
  if (!isLoopback(host)) {
    process.nextTick(() => this.destroy(refused(`connect ${host}`)));
    return this;
  }
  return realConnect.apply(this, args);
};

const realLookup = dns.lookup;
dns.lookup = function guardedLookup(hostname, options, callback) {
  const cb = typeof options === "function" ? options : callback;
  if (!isLoopback(hostname)) {
    process.nextTick(() => cb(Object.assign(refused(`dns ${hostname}`), { code: "ENOTFOUND" })));
    return {};
  }
  return realLookup.call(this, hostname, options, callback);
};
const realPromiseLookup = dns.promises.lookup;
dns.promises.lookup = async (hostname, options) => {
  if (!isLoopback(hostname)) throw Object.assign(refused(`dns ${hostname}`), { code: "ENOTFOUND" });
  return realPromiseLookup(hostname, options);
};
