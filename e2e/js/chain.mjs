// The AWS SDK for JavaScript v3's default credential chain, as an
// application that names no credentials gets it (fromNodeProviderChain is
// what every client uses by default): which provider answered, or the
// error it ended with.
//
//   node chain.mjs
//
// Prints one JSON object: {"found": true, "features": ["CREDENTIALS_..."]}
// ($source, the SDK's own record of the providers used) or
// {"found": false, "error": "..."}. Never the credentials.
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";

try {
  const creds = await fromNodeProviderChain()();
  console.log(JSON.stringify({ found: true, features: Object.keys(creds.$source ?? {}) }));
} catch (e) {
  console.log(JSON.stringify({ found: false, error: String(e.message ?? e) }));
}
