// The AWS SDK for JavaScript v3's own login provider as an application runs
// it: fromIni resolves a login_session profile from the AWS CLI's login
// cache ($AWS_LOGIN_CACHE_DIRECTORY), refreshing it at the sign-in service
// ($AWS_ENDPOINT_URL_SIGNIN) with its own DPoP proof when it has 5 minutes
// or less left, and writing the cache back.
//
//   node login.mjs PROFILE
//
// Prints one JSON object: the access key ID, expiration and account ID.
import { fromIni } from "@aws-sdk/credential-providers";

const profile = process.argv[2];
if (!profile) {
  console.error("usage: node login.mjs PROFILE");
  process.exit(2);
}
const creds = await fromIni({ profile })();
console.log(
  JSON.stringify({
    accessKeyId: creds.accessKeyId,
    expiration: creds.expiration ? creds.expiration.toISOString() : null,
    accountId: creds.accountId ?? null,
  }),
);
