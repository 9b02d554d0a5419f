// Command containercaller is a Go SDK program for container tests: built
// static (CGO_ENABLED=0) it runs in an image with nothing else in it. It
// resolves credentials through the Go SDK's default chain, exactly as an
// SDK program in a container does, and prints what it got as one JSON line
// (never the secret): {"source", "accessKeyId", "canExpire", "expires",
// "accountId"}. With -n N it retrieves N times through the SDK's credential
// cache, -every D apart, one line each, so a test sees when the SDK goes
// back to the endpoint. On an error it prints the SDK's message on stderr
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
)

type result struct {
	Source      string `json:"source"`
	AccessKeyID string `json:"accessKeyId"`
	CanExpire   bool   `json:"canExpire"`
	Expires     string `json:"expires,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
}

func main() {
	n := flag.Int("n", 1, "retrieve this many times")
	every := flag.Duration("every", time.Second, "time between retrievals")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "containercaller: loading config:", err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	for i := 0; i < *n; i++ {
		if i > 0 {
			time.Sleep(*every)
		}
		creds, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "containercaller:", err)
			os.Exit(1)
		}
		r := result{Source: creds.Source, AccessKeyID: creds.AccessKeyID, CanExpire: creds.CanExpire, AccountID: creds.AccountID}
		if creds.CanExpire {
			r.Expires = creds.Expires.UTC().Format(time.RFC3339)
		}
		enc.Encode(r)
	}
}
