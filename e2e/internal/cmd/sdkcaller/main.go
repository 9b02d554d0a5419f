// Command sdkcaller is an application of the AWS SDK for Go v2 as users
// write one: config.LoadDefaultConfig with no profile named, so the default
// credential chain decides, then STS GetCallerIdentity signed with what it
// found (AWS_ENDPOINT_URL_STS points STS at a test server). Built static
// (CGO_ENABLED=0), it runs on the host and in a container image made of it
// alone.
//
//	sdkcaller [-n N] [-every D] [-sts=false]
//
// Each of the N rounds (default 1) retrieves the credentials through the
// SDK's own cache (so a test sees when the SDK goes back to its provider)
// and, unless -sts=false (a container that cannot reach the test's STS),
// calls STS; then it prints one JSON line: the provider (Source), the access
// key ID, the expiration as the SDK's cache holds it, the account ID, the
// ARN STS answered. Never a secret. On an error it prints {"error": "..."}
// and exits 1.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

type round struct {
	Source      string `json:"source"`
	AccessKeyID string `json:"accessKeyId"`
	Expiration  string `json:"expiration,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	Arn         string `json:"arn,omitempty"`
	Error       string `json:"error,omitempty"`
}

func main() {
	n := flag.Int("n", 1, "rounds")
	every := flag.Duration("every", time.Second, "time between rounds")
	callSTS := flag.Bool("sts", true, "call STS GetCallerIdentity in each round")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fail(err)
	}
	client := sts.NewFromConfig(cfg)
	for i := 0; i < *n; i++ {
		if i > 0 {
			time.Sleep(*every)
		}
		creds, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			fail(err)
		}
		r := round{Source: creds.Source, AccessKeyID: creds.AccessKeyID, AccountID: creds.AccountID}
		if creds.CanExpire {
			r.Expiration = creds.Expires.UTC().Format(time.RFC3339)
		}
		if *callSTS {
			out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if err != nil {
				fail(err)
			}
			r.Arn = *out.Arn
		}
		b, _ := json.Marshal(r)
		fmt.Println(string(b))
	}
}

func fail(err error) {
	b, _ := json.Marshal(round{Error: err.Error()})
	fmt.Println(string(b))
	os.Exit(1)
}
