package fakeimds

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
)

// TestBotocoreReadsTheFakes: botocore's own fetchers, the code the AWS CLI
// runs on EC2 and in containers, get the fake's credentials: IMDSv2 with a
// session token through AWS_EC2_METADATA_SERVICE_ENDPOINT (and IMDSv1 when
// the service refuses tokens), and the container endpoint with its
// Authorization token. So the fakes answer as the real services do.
func TestBotocoreReadsTheFakes(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Missing(t, "python3 is not on PATH")
	}
	exp := time.Now().Add(6 * time.Hour).UTC().Truncate(time.Second)
	s := Start(t, Creds{AccessKeyID: "ASIAIMDSEXAMPLE00001", SecretAccessKey: "imdsSecretEXAMPLE", Token: "imdsTokenEXAMPLE", Expiration: exp, AccountID: "333333333333"})
	const script = `
import json, sys
try:
    from botocore.utils import InstanceMetadataFetcher, ContainerMetadataFetcher
except ImportError as e:
    print("MISSING", e); sys.exit(3)
imds = InstanceMetadataFetcher(timeout=2, num_attempts=1, env={}, config={"ec2_metadata_service_endpoint": sys.argv[1]})
c = imds.retrieve_iam_role_credentials()
ecs = ContainerMetadataFetcher().retrieve_full_uri(sys.argv[2], headers={"Authorization": sys.argv[3]})
print(json.dumps({"imds": c, "ecs": ecs}))
`
	run := func() (imds map[string]string, ecs map[string]string) {
		t.Helper()
		out, err := exec.Command(py, "-c", script, s.URL, s.ContainerURL, s.ContainerToken).CombinedOutput()
		if strings.HasPrefix(string(out), "MISSING") {
			testenv.Missing(t, "botocore is not installed: %s", out)
		}
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		var got struct{ IMDS, ECS map[string]string }
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return got.IMDS, got.ECS
	}
	imds, ecs := run()
	if imds["role_name"] != "ci-instance-role" || imds["access_key"] != "ASIAIMDSEXAMPLE00001" || imds["token"] != "imdsTokenEXAMPLE" ||
		imds["expiry_time"] != exp.Format(time.RFC3339) {
		t.Errorf("botocore's IMDS fetcher got %v", imds)
	}
	if s.Calls("PUT /latest/api/token") != 1 {
		t.Errorf("botocore did not take an IMDSv2 session token: %d PUTs", s.Calls("PUT /latest/api/token"))
	}
	if ecs["AccessKeyId"] != "ASIAIMDSEXAMPLE00001" || ecs["Token"] != "imdsTokenEXAMPLE" || ecs["AccountId"] != "333333333333" {
		t.Errorf("botocore's container fetcher got %v", ecs)
	}

	s.SetV1Only(true)
	if imds, _ = run(); imds["access_key"] != "ASIAIMDSEXAMPLE00001" {
		t.Errorf("botocore on an IMDSv1-only fake got %v", imds)
	}
}
