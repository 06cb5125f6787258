// Shared helpers for interop scripts: JSON-line events on stdout, SDK options for offline loopback use.
export const PROJECT_ID = "0123456789abcdef0123456789abcdef";

export function emit(event, data = {}) {
  process.stdout.write(JSON.stringify({ sdk_event: event, ...data }) + "\n");
}

export function fail(error) {
  emit("error", { message: String(error?.stack ?? error) });
  process.exit(1);
}

// Each client gets its own storage prefix (one process may host several clients, ref §14a).
export function clientOptions(name, relayUrl) {
  return {
    projectId: PROJECT_ID,
    relayUrl,
    customStoragePrefix: `wcproxy-${name}-${process.pid}-${Math.random().toString(16).slice(2)}`,
    telemetryEnabled: false,
    logger: "error",
    metadata: { name, description: `wcproxy interop ${name}`, url: "https://example.org", icons: [] },
  };
}

export function deadline(seconds) {
  const timer = setTimeout(() => fail(`script deadline of ${seconds}s exceeded`), seconds * 1000);
  timer.unref();
}

process.on("unhandledRejection", fail);
