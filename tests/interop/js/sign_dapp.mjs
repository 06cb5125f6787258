// The official SignClient 2.25 as a dApp, driven by JSON-line commands on stdin (one per line):
//   {"cmd":"connect","optionalNamespaces":{...}}     -> events "uri", then "session"
//   {"cmd":"request","topic","chainId","method","params"} -> "response" {result, recovered} or "cmd_error"
//   {"cmd":"ping"|"extend"|"disconnect","topic"}    -> "pinged" / "extended" / "disconnected"
//   {"cmd":"revive","topic"} -> "revived": put back a session the wallet deleted (its key, record and
//     subscription), as a dApp that ignores wc_sessionDelete (or anyone holding the key) would, so
//     the next "request" reaches the wallet again
// It verifies every signature with ethers (recovered signer address in the "response" event) and
// reports session_ping / session_event / session_extend / session_update / session_delete, and
// "session_delete_request" with the wc_sessionDelete params (the wallet's reason) as they arrive.
import { SignClient } from "@walletconnect/sign-client";
import { ethers } from "ethers";
import readline from "node:readline";
import { clientOptions, deadline, emit, fail } from "./common.mjs";

const relayUrl = process.argv[2];
deadline(Number(process.argv[3] ?? 120));

function recover(method, params, result) {
  if (method === "personal_sign") {
    return ethers.verifyMessage(ethers.getBytes(params[0]), result);
  }
  if (method === "eth_signTypedData_v4") {
    const typed = JSON.parse(params[1]);
    const types = { ...typed.types };
    delete types.EIP712Domain;
    return ethers.verifyTypedData(typed.domain, types, typed.message, result);
  }
  if (method === "eth_signTransaction") {
    const tx = ethers.Transaction.from(result);
    return tx.from;
  }
  return null;
}

const kept = new Map(); // topic -> {symKey, session}: what "revive" puts back

async function run(client, cmd) {
  switch (cmd.cmd) {
    case "connect": {
      const { uri, approval } = await client.connect({ optionalNamespaces: cmd.optionalNamespaces });
      emit("uri", { uri });
      const session = await approval();
      kept.set(session.topic, {
        symKey: client.core.crypto.keychain.get(session.topic),
        session: client.session.get(session.topic),
      });
      emit("session", {
        topic: session.topic,
        namespaces: session.namespaces,
        expiry: session.expiry,
        acknowledged: session.acknowledged,
        controller: session.controller,
      });
      return;
    }
    case "request": {
      const result = await client.request({
        topic: cmd.topic,
        chainId: cmd.chainId,
        request: { method: cmd.method, params: cmd.params },
      });
      emit("response", { method: cmd.method, result, recovered: recover(cmd.method, cmd.params, result) });
      return;
    }
    case "ping":
      await client.ping({ topic: cmd.topic });
      emit("pinged");
      return;
    case "extend": {
      const { acknowledged } = await client.extend({ topic: cmd.topic });
      await acknowledged();
      emit("extended", { expiry: client.session.get(cmd.topic).expiry });
      return;
    }
    case "disconnect":
      await client.disconnect({ topic: cmd.topic, reason: { code: 6000, message: "User disconnected." } });
      emit("disconnected", { sessions: client.session.getAll().length });
      return;
    case "revive": {
      const saved = kept.get(cmd.topic);
      if (!saved) throw new Error(`never had session ${cmd.topic}`);
      client.engine.recentlyDeletedMap?.delete(cmd.topic); // the SDK refuses recently deleted topics
      if (Array.isArray(client.session.recentlyDeleted)) {
        client.session.recentlyDeleted = client.session.recentlyDeleted.filter((t) => t !== cmd.topic);
      }
      await client.core.crypto.setSymKey(saved.symKey, cmd.topic);
      await client.session.set(cmd.topic, saved.session);
      await client.core.relayer.subscribe(cmd.topic);
      emit("revived", { topic: cmd.topic });
      return;
    }
    case "sessions":
      emit("sessions", { topics: client.session.getAll().map((s) => s.topic) });
      return;
    default:
      throw new Error(`unknown command ${cmd.cmd}`);
  }
}

try {
  const client = await SignClient.init(clientOptions("dapp", relayUrl));
  for (const name of ["session_ping", "session_event", "session_extend", "session_update", "session_delete", "session_expire"]) {
    client.on(name, (e) => emit(name, { topic: e.topic, params: e.params ?? null }));
  }
  const onDelete = client.engine.onSessionDeleteRequest;
  client.engine.onSessionDeleteRequest = async (topic, payload) => {
    emit("session_delete_request", { topic, params: payload?.params ?? null });
    return onDelete(topic, payload);
  };
  emit("ready");
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const cmd = JSON.parse(line);
    try {
      await run(client, cmd);
    } catch (err) {
      emit("cmd_error", { cmd: cmd.cmd, message: String(err?.message ?? JSON.stringify(err)), code: err?.code ?? null, data: err?.data ?? null });
    }
  }
  process.exit(0);
} catch (err) {
  fail(err);
}
