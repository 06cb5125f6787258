// The official @reown/walletkit 1.6.0 wallet (signConfig.disableRequestQueue): the interop tests'
// peer and the request-path bench's baseline (proxy/bench/request_path.py).
// Args: RELAY_URL [DEADLINE_S] [quiet]. JSON-line commands on stdin:
//   {"cmd":"pair","uri"}                       -> "paired"; approves every proposal ("session")
//   {"cmd":"ping"|"extend"|"disconnect","topic"} -> "pinged" / "extended" / "disconnected"
//   {"cmd":"emit","topic","name","data","chainId"} -> "emitted"
// session_request, signed with ethers and the test key: personal_sign -> signMessage,
// eth_signTransaction -> signTransaction (a signed raw type-2 transaction); anything else -> 5000
// "User rejected.". Reports session_request (unless "quiet": the bench sends thousands),
// session_delete / session_ping / session_extend events; a failed answer is "respond_error".
import { Core } from "@walletconnect/core";
import { WalletKit } from "@reown/walletkit";
import { ethers } from "ethers";
import readline from "node:readline";
import { clientOptions, deadline, emit, fail } from "./common.mjs";

const relayUrl = process.argv[2];
deadline(Number(process.argv[3] ?? 120));
const quiet = process.argv[4] === "quiet";
const signer = new ethers.Wallet("0x" + "42".repeat(32));

const quantity = (v) => (v === undefined || v === null ? undefined : BigInt(v));

async function answer(method, params) {
  if (method === "personal_sign") {
    return signer.signMessage(ethers.getBytes(params[0]));
  }
  if (method === "eth_signTransaction") {
    const tx = params[0];
    return signer.signTransaction({
      type: 2,
      chainId: quantity(tx.chainId),
      nonce: Number(BigInt(tx.nonce)),
      to: tx.to,
      value: quantity(tx.value ?? "0x0"),
      data: tx.data ?? tx.input ?? "0x",
      gasLimit: quantity(tx.gas ?? tx.gasLimit),
      maxFeePerGas: quantity(tx.maxFeePerGas),
      maxPriorityFeePerGas: quantity(tx.maxPriorityFeePerGas),
    });
  }
  throw new Error("User rejected.");
}

async function run(kit, cmd) {
  switch (cmd.cmd) {
    case "pair":
      await kit.pair({ uri: cmd.uri });
      emit("paired");
      return;
    case "ping":
      await kit.engine.signClient.ping({ topic: cmd.topic });
      emit("pinged");
      return;
    case "extend":
      await kit.extendSession({ topic: cmd.topic });
      emit("extended", { expiry: kit.engine.signClient.session.get(cmd.topic).expiry });
      return;
    case "emit":
      await kit.emitSessionEvent({ topic: cmd.topic, event: { name: cmd.name, data: cmd.data }, chainId: cmd.chainId });
      emit("emitted");
      return;
    case "disconnect":
      await kit.disconnectSession({ topic: cmd.topic, reason: { code: 6000, message: "User disconnected." } });
      emit("disconnected");
      return;
    default:
      throw new Error(`unknown command ${cmd.cmd}`);
  }
}

try {
  const opts = clientOptions("walletkit", relayUrl);
  const core = new Core({
    projectId: opts.projectId,
    relayUrl,
    customStoragePrefix: opts.customStoragePrefix,
    telemetryEnabled: false,
    logger: "error",
  });
  const kit = await WalletKit.init({ core, metadata: opts.metadata, signConfig: { disableRequestQueue: true } });
  kit.on("session_proposal", async (proposal) => {
    try {
      const ns = proposal.params.optionalNamespaces.eip155 ?? proposal.params.requiredNamespaces.eip155;
      const namespaces = {
        eip155: {
          chains: ns.chains,
          methods: ns.methods,
          events: ns.events,
          accounts: ns.chains.map((c) => `${c}:${signer.address}`),
        },
      };
      const session = await kit.approveSession({ id: proposal.id, namespaces });
      emit("session", { topic: session.topic, expiry: session.expiry });
    } catch (err) {
      fail(err);
    }
  });
  kit.on("session_request", async (ev) => {
    const { method, params } = ev.params.request;
    if (!quiet) emit("session_request", { id: ev.id, topic: ev.topic, method });
    let response;
    try {
      response = { id: ev.id, jsonrpc: "2.0", result: await answer(method, params) };
    } catch (err) {
      response = { id: ev.id, jsonrpc: "2.0", error: { code: 5000, message: String(err?.message ?? err) } };
    }
    try {
      await kit.respondSessionRequest({ topic: ev.topic, response });
    } catch (err) {
      emit("respond_error", { message: String(err?.message ?? err) });
    }
  });
  kit.on("session_delete", (e) => emit("session_delete", { topic: e.topic }));
  kit.engine.signClient.on("session_ping", (e) => emit("session_ping", { topic: e.topic }));
  kit.engine.signClient.on("session_extend", (e) => emit("session_extend", { topic: e.topic }));
  emit("ready", { address: signer.address });
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const cmd = JSON.parse(line);
    try {
      await run(kit, cmd);
    } catch (err) {
      emit("cmd_error", { cmd: cmd.cmd, message: String(err?.message ?? JSON.stringify(err)) });
    }
  }
  process.exit(0);
} catch (err) {
  fail(err);
}
