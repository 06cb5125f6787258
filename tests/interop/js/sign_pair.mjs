// Two official SignClients (dApp + wallet) pair through the relay given as argv[2], approve a session and
// exchange one personal_sign request/response. Prints JSON-line events (see common.mjs).
import { SignClient } from "@walletconnect/sign-client";
import { clientOptions, deadline, emit, fail } from "./common.mjs";

const relayUrl = process.argv[2];
const ACCOUNT = "0x1111111111111111111111111111111111111111";
deadline(Number(process.argv[3] ?? 60));

try {
  const dapp = await SignClient.init(clientOptions("dapp", relayUrl));
  const wallet = await SignClient.init(clientOptions("wallet", relayUrl));
  emit("clients_ready", { dapp: await dapp.core.crypto.getClientId(), wallet: await wallet.core.crypto.getClientId() });

  wallet.on("session_proposal", async (proposal) => {
    try {
      emit("session_proposal", { id: proposal.id });
      const namespaces = {
        eip155: {
          chains: ["eip155:1"],
          methods: ["personal_sign"],
          events: ["accountsChanged"],
          accounts: [`eip155:1:${ACCOUNT}`],
        },
      };
      const { acknowledged } = await wallet.approve({ id: proposal.id, namespaces });
      await acknowledged();
      emit("wallet_session_acknowledged");
    } catch (err) {
      fail(err);
    }
  });

  wallet.on("session_request", async (event) => {
    try {
      const { method, params } = event.params.request;
      emit("session_request", { method, params });
      await wallet.respond({
        topic: event.topic,
        response: { id: event.id, jsonrpc: "2.0", result: "0xdeadbeef" },
      });
    } catch (err) {
      fail(err);
    }
  });

  const { uri, approval } = await dapp.connect({
    optionalNamespaces: {
      eip155: { chains: ["eip155:1"], methods: ["personal_sign"], events: ["accountsChanged"] },
    },
  });
  emit("uri", { uri });
  await wallet.pair({ uri });
  const session = await approval();
  emit("session_settled", { topic: session.topic, accounts: session.namespaces.eip155.accounts });

  const result = await dapp.request({
    topic: session.topic,
    chainId: "eip155:1",
    request: { method: "personal_sign", params: ["0x48656c6c6f", ACCOUNT] },
  });
  emit("request_result", { result });
  emit("done");
  process.exit(0);
} catch (err) {
  fail(err);
}
