// The AWS SDK for JavaScript v3 as an application that names no credentials
// uses it: the default chain (fromNodeProviderChain, what every client uses
// by default), then STS GetCallerIdentity signed with what it found
// (AWS_ENDPOINT_URL_STS points STS at moto).
//
//   node execcaller.mjs
//
// Prints one JSON object: the providers the SDK recorded ($source), the
// access key ID, the expiration and the identity STS answered with. Never a
// secret.
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";

const credentials = fromNodeProviderChain();
const creds = await credentials();
const sts = new STSClient({ credentials });
const id = await sts.send(new GetCallerIdentityCommand({}));
console.log(
  JSON.stringify({
    features: Object.keys(creds.$source ?? {}),
    accessKeyId: creds.accessKeyId,
    expiration: creds.expiration ? creds.expiration.toISOString() : null,
    arn: id.Arn,
  }),
);
