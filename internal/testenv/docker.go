package testenv

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// dockerTimeout bounds each docker CLI call a helper here makes: a daemon
// that stopped answering fails the test instead of hanging it.
const dockerTimeout = 2 * time.Minute

var (
	dockerOnce sync.Once
	dockerPath string
	dockerErr  error
	imageSeq   atomic.Int64
)

// Docker returns the docker CLI's path once a Docker daemon answers it, or
// calls Missing: the CLI absent, or no daemon (.ci/run starts one). The
// answer is looked up once per test binary.
func Docker(t testing.TB) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("containers are tested on linux only (this is %s)", runtime.GOOS)
	}
	dockerOnce.Do(func() {
		p, err := exec.LookPath("docker")
		if err != nil {
			dockerErr = fmt.Errorf("no docker CLI on PATH (apt-get install docker.io)")
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, p, "version", "--format", "{{.Server.Version}}").CombinedOutput()
		if err != nil {
			dockerErr = fmt.Errorf("no Docker daemon answers %s (start one: dockerd &): %v: %s", p, err, strings.TrimSpace(string(out)))
			return
		}
		dockerPath = p
	})
	if dockerErr != nil {
		Missing(t, "%v", dockerErr)
	}
	return dockerPath
}

// DockerRun runs the docker CLI with args and returns its combined output,
// failing the test when it fails.
func DockerRun(t testing.TB, args ...string) string {
	t.Helper()
	out, err := DockerOutput(t, args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// DockerOutput runs the docker CLI with args and returns its combined output
// and error, for a test that expects a failure.
func DockerOutput(t testing.TB, args ...string) (string, error) {
	t.Helper()
	docker := Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, docker, args...).CombinedOutput()
	return string(out), err
}

// ImportImage builds a Docker image from host files without a registry or
// a Dockerfile (nothing can be pulled here): files maps a path in the image
// to a file on the host, copied with its mode. The image also holds the
// host's CA bundle at /etc/ssl/certs/ca-certificates.crt when there is one,
// and an empty /tmp. name becomes part of a tag unique to this test binary;
// the image is removed when the test ends. It returns the image reference.
func ImportImage(t testing.TB, name string, files map[string]string) string {
	t.Helper()
	Docker(t)
	all := map[string]string{}
	const bundle = "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(bundle); err == nil {
		all[bundle] = bundle
	}
	for in, host := range files {
		all[in] = host
	}
	var buf bytes.Buffer
	if err := writeImageTar(&buf, all); err != nil {
		t.Fatalf("building image %s: %v", name, err)
	}
	ref := fmt.Sprintf("credhelper-test/%s:%d-%d", name, os.Getpid(), imageSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, Docker(t), "import", "-", ref)
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker import %s: %v\n%s", ref, err, out)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
		defer cancel()
		if out, err := exec.CommandContext(ctx, dockerPath, "rmi", "-f", ref).CombinedOutput(); err != nil {
			t.Errorf("docker rmi %s: %v\n%s", ref, err, out)
		}
	})
	return ref
}

// writeImageTar writes a root file system holding files (image path → host
// path) as a tar stream, parent directories first, in a stable order.
func writeImageTar(w io.Writer, files map[string]string) error {
	tw := tar.NewWriter(w)
	dirs := map[string]bool{"tmp": true}
	names := make([]string, 0, len(files))
	for in := range files {
		clean := strings.TrimPrefix(path.Clean("/"+in), "/")
		if clean == "" {
			return fmt.Errorf("image path %q names the root", in)
		}
		names = append(names, in)
		for d := path.Dir(clean); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	dirList := make([]string, 0, len(dirs))
	for d := range dirs {
		dirList = append(dirList, d)
	}
	sort.Strings(dirList) // a parent sorts before its children
	for _, d := range dirList {
		mode := int64(0o755)
		if d == "tmp" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: mode}); err != nil {
			return err
		}
	}
	sort.Strings(names)
	for _, in := range names {
		host := files[in]
		data, err := os.ReadFile(host)
		if err != nil {
			return err
		}
		fi, err := os.Stat(host)
		if err != nil {
			return err
		}
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     strings.TrimPrefix(path.Clean("/"+in), "/"),
			Mode:     int64(fi.Mode().Perm()),
			Size:     int64(len(data)),
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// BuildStatic builds the Go package pkg (an import path or a directory
// relative to the calling test's package) as a static linux binary
// (CGO_ENABLED=0) for this machine's architecture, for an image made with
// ImportImage, and returns its path in a temporary directory.
func BuildStatic(t testing.TB, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), path.Base(strings.TrimSuffix(pkg, "/")))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s statically: %v\n%s", pkg, err, b)
	}
	return out
}
