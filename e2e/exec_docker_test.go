//go:build linux

package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
)

// A container on the host network gets the profile's credentials through
// exec, as the README's recipe says: docker run --network host -e
// AWS_CONTAINER_CREDENTIALS_FULL_URI -e AWS_CONTAINER_AUTHORIZATION_TOKEN.
// The image is the static Go SDK caller alone, imported from a tarball
// (nothing can be pulled here).
func TestExecDockerHostNetwork(t *testing.T) {
	docker, err := exec.LookPath("docker")
	if err != nil {
		testenv.Missing(t, "docker is not on PATH (apt-get install -y docker.io)")
	}
	if out, err := exec.Command(docker, "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		testenv.Missing(t, "no Docker daemon answers (start dockerd): %v: %s", err, out)
	}
	image := fmt.Sprintf("credhelper-e2e-exec:%d", os.Getpid())
	importImage(t, docker, image, sdkCaller(t))

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

// importImage makes image from one static binary, /sdkcaller.
func importImage(t *testing.T, docker, image, binary string) {
	t.Helper()
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "sdkcaller", Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg})
	tw.Write(data)
	tw.Close()
	cmd := exec.Command(docker, "import", "-", image)
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command(docker, "rmi", "-f", image).Run() })
}
