// Bench copy of the official @reown/walletkit 1.6.0 wallet (signConfig.disableRequestQueue), the baseline
// for proxy/bench/request_path.py. Args: RELAY_URL [DEADLINE_S]. Commands on stdin (JSON lines):
//   {"cmd":"pair","uri"}  -> "paired"; every proposal is approved at once ("session" event)
// Requests are auto-approved and signed with ethers: personal_sign -> signMessage, eth_signTransaction ->
// signTransaction (a signed raw transaction); anything else -> error 5000. JSON-line events on stdout.
import { Core } from "@walletconnect/core";
import { WalletKit } from "@reown/walletkit";
import { ethers } from "ethers";
import readline from "node:readline";

const PROJECT_ID = "0123456789abcdef0123456789abcdef";
const relayUrl = process.argv[2];
const deadlineS = Number(process.argv[3] ?? 600);
const signer = new ethers.Wallet("0x" + "42".repeat(32));

const emit = (event, data = {}) => process.stdout.write(JSON.stringify({ sdk_event: event, ...data }) + "\n");
const fail = (error) => {
  emit("error", { message: String(error?.stack ?? error) });
  process.exit(1);
};
process.on("unhandledRejection", fail);
setTimeout(() => fail(`deadline of ${deadlineS}s exceeded`), deadlineS * 1000).unref();

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
  throw Object.assign(new Error(`unsupported ${method}`), { code: 5000 });
}

try {
  const core = new Core({
    projectId: PROJECT_ID,
    relayUrl,
    customStoragePrefix: `wcproxy-bench-walletkit-${process.pid}`,
    telemetryEnabled: false,
    logger: "error",
  });
  const metadata = { name: "walletkit-bench", description: "bench", url: "https://example.org", icons: [] };
  const kit = await WalletKit.init({ core, metadata, signConfig: { disableRequestQueue: true } });
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
      emit("session", { topic: session.topic });
    } catch (err) {
      fail(err);
    }
  });
  kit.on("session_request", async (ev) => {
    const { method, params } = ev.params.request;
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
  emit("ready", { address: signer.address.toLowerCase() });
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const cmd = JSON.parse(line);
    if (cmd.cmd === "pair") {
      try {
        await kit.pair({ uri: cmd.uri });
        emit("paired");
      } catch (err) {
        emit("cmd_error", { message: String(err?.message ?? err) });
      }
    }
  }
  process.exit(0);
} catch (err) {
  fail(err);
}
