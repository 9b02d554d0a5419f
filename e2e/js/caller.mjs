// The AWS SDK for JavaScript v3 as an application runs it: fromIni resolves
// the profile (credential_process, run with child_process.exec: every stream
// piped, stdin never closed, no timeout), then STS GetCallerIdentity signs
// with those credentials. AWS_ENDPOINT_URL_STS points STS at moto.
//
//   node caller.mjs PROFILE
//
// Prints one JSON object: the credentials' access key ID and expiration and
// the identity STS answered with.
import { fromIni } from "@aws-sdk/credential-providers";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";

const profile = process.argv[2];
if (!profile) {
  console.error("usage: node caller.mjs PROFILE");
  process.exit(2);
}
const credentials = fromIni({ profile });
const creds = await credentials();
const sts = new STSClient({ credentials });
const id = await sts.send(new GetCallerIdentityCommand({}));
console.log(
  JSON.stringify({
    accessKeyId: creds.accessKeyId,
    expiration: creds.expiration ? creds.expiration.toISOString() : null,
    accountId: creds.accountId ?? null,
    arn: id.Arn,
    account: id.Account,
  }),
);
