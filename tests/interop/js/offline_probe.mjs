// Checks the preload's offline guard: non-loopback fetch / TCP / DNS fail at once; imports resolve from tests/node.
import net from "node:net";
import dns from "node:dns";
import { SignClient } from "@walletconnect/sign-client";
import { emit } from "./common.mjs";

const started = Date.now();
const outcome = async (fn) => {
  try {
    await fn();
    return "allowed";
  } catch (err) {
    return String(err?.message ?? err).includes("offline guard") ? "refused" : `other: ${err}`;
  }
};
const fetchResult = await outcome(() => fetch("https://verify.walletconnect.org/v3/public-key"));
const netResult = await outcome(
  () =>
    new Promise((resolve, reject) => {
      const socket = net.connect(443, "203.0.113.7");
      socket.on("connect", resolve);
      socket.on("error", reject);
    }),
);
const dnsResult = await outcome(() => dns.promises.lookup("relay.walletconnect.org"));
emit("probe", {
  signClient: typeof SignClient.init,
  fetch: fetchResult,
  net: netResult,
  dns: dnsResult,
  elapsedMs: Date.now() - started,
});
