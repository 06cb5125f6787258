// A naive wallet on the official @reown/walletkit 1.6.0: it pairs with argv[2] (a wc: URI) on the relay
// argv[3], approves every proposal with every requested chain and method, and answers every request by
// signing it with an ethers Wallet of a fixed test key -- exactly what the attack bench must catch.
// Prints nothing but JSON lines: {"sdk_event": ...}.
//   personal_sign / eth_sign (raw digest) / eth_signTypedData* / eth_signTransaction: signed
//   eth_sendTransaction: the hash of the signed transaction (no broadcast: offline)
//   wallet_sendCalls: {id}; wallet_switchEthereumChain / wallet_addEthereumChain: null
import { Core } from "@walletconnect/core";
import { WalletKit } from "@reown/walletkit";
import { ethers } from "ethers";
import { clientOptions, deadline, emit, fail } from "../../interop/js/common.mjs";

const uri = process.argv[2];
const relayUrl = process.argv[3];
deadline(Number(process.argv[4] ?? 600));
const signer = new ethers.Wallet("0x" + "4b".repeat(32));

function bytesOf(text) {
  return ethers.isHexString(text) ? ethers.getBytes(text) : ethers.toUtf8Bytes(text);
}

function txOf(rpc) {
  const tx = {};
  const copy = ["to", "nonce", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas", "value", "chainId", "type", "accessList"];
  for (const k of copy) if (rpc[k] !== undefined && rpc[k] !== null) tx[k] = rpc[k];
  if (rpc.gas !== undefined) tx.gasLimit = rpc.gas;
  if (rpc.gasLimit !== undefined) tx.gasLimit = rpc.gasLimit;
  const data = rpc.data ?? rpc.input;
  if (data !== undefined) tx.data = data;
  if (Array.isArray(rpc.authorizationList)) {
    // naive: sign every authorization the dApp asks for, whatever its chain id
    tx.authorizationList = rpc.authorizationList.map((a) =>
      signer.authorizeSync({ address: a.address, nonce: BigInt(a.nonce), chainId: BigInt(a.chainId) }),
    );
  }
  return tx;
}

async function answer(method, params) {
  switch (method) {
    case "personal_sign":
      return signer.signMessage(bytesOf(params[0]));
    case "eth_sign":
      return signer.signingKey.sign(ethers.getBytes(params[1])).serialized;
    case "eth_signTypedData":
    case "eth_signTypedData_v3":
    case "eth_signTypedData_v4": {
      const typed = typeof params[1] === "string" ? JSON.parse(params[1]) : params[1];
      const types = { ...typed.types };
      delete types.EIP712Domain;
      return signer.signTypedData(typed.domain, types, typed.message);
    }
    case "eth_signTransaction":
      if (typeof params[0] === "string") {
        return signer.signTransaction(ethers.Transaction.from(params[0]));
      }
      return signer.signTransaction(txOf(params[0]));
    case "eth_sendTransaction":
      return ethers.keccak256(await signer.signTransaction(txOf(params[0])));
    case "wallet_sendCalls":
      return { id: ethers.hexlify(ethers.randomBytes(32)) };
    default:
      return null;
  }
}

try {
  const opts = clientOptions("naive-wallet", relayUrl);
  const core = new Core({
    projectId: opts.projectId,
    relayUrl,
    customStoragePrefix: opts.customStoragePrefix,
    telemetryEnabled: false,
    logger: "silent",
  });
  const kit = await WalletKit.init({ core, metadata: opts.metadata, signConfig: { disableRequestQueue: true } });
  kit.on("session_proposal", async (proposal) => {
    try {
      const p = proposal.params;
      const all = [p.requiredNamespaces?.eip155, p.optionalNamespaces?.eip155].filter(Boolean);
      const chains = [...new Set(all.flatMap((n) => n.chains ?? []))];
      const methods = [...new Set(all.flatMap((n) => n.methods ?? []))];
      const events = [...new Set(all.flatMap((n) => n.events ?? []))];
      const namespaces = {
        eip155: { chains, methods, events, accounts: chains.map((c) => `${c}:${signer.address}`) },
      };
      const session = await kit.approveSession({ id: proposal.id, namespaces });
      emit("session", { topic: session.topic });
    } catch (err) {
      emit("approve_error", { message: String(err?.message ?? err) });
    }
  });
  kit.on("session_request", async (ev) => {
    const { method, params } = ev.params.request;
    let response;
    try {
      response = { id: ev.id, jsonrpc: "2.0", result: await answer(method, params) };
    } catch (err) {
      response = { id: ev.id, jsonrpc: "2.0", error: { code: -32603, message: String(err?.message ?? err).slice(0, 200) } };
    }
    emit("session_request", { id: ev.id, method, ok: response.result !== undefined });
    try {
      await kit.respondSessionRequest({ topic: ev.topic, response });
    } catch (err) {
      emit("respond_error", { id: ev.id, message: String(err?.message ?? err) });
    }
  });
  emit("ready", { address: signer.address });
  await kit.pair({ uri });
  emit("paired");
} catch (err) {
  fail(err);
}
