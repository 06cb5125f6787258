// The official Core (crypto + relayer) on a topic whose sym key the test chose (argv[3], hex):
// subscribe, publish one sealed wc_sessionPing, then decrypt what the Python side publishes back.
import { Core } from "@walletconnect/core";
import { clientOptions, deadline, emit, fail } from "./common.mjs";

const [relayUrl, symKey] = process.argv.slice(2, 4);
deadline(Number(process.argv[4] ?? 60));

try {
  const core = new Core(clientOptions("core", relayUrl));
  await core.start();
  const topic = await core.crypto.setSymKey(symKey);
  core.relayer.on("relayer_message", async (event) => {
    try {
      if (event.topic !== topic) return;
      const payload = await core.crypto.decode(topic, event.message);
      emit("received", { topic, payload, publishedAt: event.publishedAt });
      process.exit(0);
    } catch (err) {
      fail(err);
    }
  });
  await core.relayer.subscribe(topic);
  emit("subscribed", { topic, clientId: await core.crypto.getClientId() });
  const payload = { id: 1700000000000123, jsonrpc: "2.0", method: "wc_sessionPing", params: {} };
  const message = await core.crypto.encode(topic, payload);
  await core.relayer.publish(topic, message, { ttl: 30, tag: 1114, prompt: false });
  emit("published", { topic, message });
} catch (err) {
  fail(err);
}
