package testenv

import (
	"strings"
	"testing"
)

// TestImportImageRunsAStaticBinary builds a static program, imports it as an
// image with no registry, and runs it: the program starts, sees its
// arguments, the host's CA bundle and a world-writable /tmp.
func TestImportImageRunsAStaticBinary(t *testing.T) {
	Docker(t)
	bin := BuildStatic(t, "./testdata/imagecheck")
	ref := ImportImage(t, "imagecheck", map[string]string{"/imagecheck": bin})
	out := DockerRun(t, "run", "--rm", "--network", "none", ref, "/imagecheck", "a", "b")
	if want := "args=a,b ca=true tmp=dtrwxrwxrwx\n"; out != want {
		t.Fatalf("the image's program printed %q, want %q", out, want)
	}
	if _, err := DockerOutput(t, "run", "--rm", "--network", "none", ref, "/absent"); err == nil {
		t.Fatal("running a file the image lacks succeeded: is this the image ImportImage built?")
	}
	images := DockerRun(t, "images", "--format", "{{.Repository}}:{{.Tag}}")
	if !strings.Contains(images, ref) {
		t.Fatalf("docker images does not list %s:\n%s", ref, images)
	}
}
