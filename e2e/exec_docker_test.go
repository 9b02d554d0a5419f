//go:build linux

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
)

// A container on the host network gets the profile's credentials through
// exec, as the README's recipe says: docker run --network host -e
// AWS_CONTAINER_CREDENTIALS_FULL_URI -e AWS_CONTAINER_AUTHORIZATION_TOKEN.
// The image is the static Go SDK caller, imported from a tarball (nothing
// can be pulled here).
func TestExecDockerHostNetwork(t *testing.T) {
	docker := testenv.Docker(t)
	image := testenv.ImportImage(t, "exec-sdkcaller", map[string]string{"/sdkcaller": sdkCaller(t)})

	w := execWorld(t)
	want := w.process("dev-src")
	r := w.runFor(3*time.Minute, bins.credhelper, "exec", "dev", "--", docker, "run", "--rm", "--network", "host",
		"-e", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "-e", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "-e", "AWS_REGION",
		"-e", "AWS_ENDPOINT_URL_STS", "-e", "AWS_EC2_METADATA_DISABLED", image, "/sdkcaller")
	var got struct{ Source, AccessKeyID, Arn, Error string }
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &got) != nil {
		t.Fatalf("sdkcaller in a container on the host network: %s", r)
	}
	if got.Source != "CredentialsEndpointProvider" || got.AccessKeyID != want.AccessKeyID || !strings.Contains(got.Arn, ":assumed-role/Developer/e2e") {
		t.Errorf("in the container: %+v, want the endpoint's %s", got, want.AccessKeyID)
	}
}
