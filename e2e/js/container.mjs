// The AWS SDK for JavaScript v3's default credential chain, called N times
// on one provider as an application's client would (the chain memoizes
// credentials and asks again when it treats them as expired), for the
// container credentials tests:
//
//   node container.mjs [N]
//
// Prints one JSON line per call, {"key": accessKeyId, "expiration": ISO},
// or {"error": "..."} and exits 1. Never the secret.
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";

const n = Number(process.argv[2] ?? 1);
const provider = fromNodeProviderChain();
try {
  for (let i = 0; i < n; i++) {
    const c = await provider();
    console.log(JSON.stringify({ key: c.accessKeyId, expiration: c.expiration?.toISOString() }));
  }
} catch (e) {
  console.log(JSON.stringify({ error: String(e.message ?? e) }));
  process.exit(1);
}
