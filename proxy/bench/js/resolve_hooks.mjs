// Module hooks (registered by preload.mjs): bare specifiers that do not resolve from the script's own
// folder are resolved as if imported from tests/node/package.json, i.e. from tests/node/node_modules.
let parentURL;

export async function initialize(data) {
  parentURL = data.parentURL;
}

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    const bare = !/^(\.|\/|file:|node:|data:)/.test(specifier);
    if (bare && parentURL && err?.code === "ERR_MODULE_NOT_FOUND") {
      return nextResolve(specifier, { ...context, parentURL });
    }
    throw err;
  }
}
