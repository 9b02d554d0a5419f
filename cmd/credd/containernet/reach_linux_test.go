package containernet

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
)

// server serves "hello <peer>" on l until the test ends and records the
// peers it served.
type server struct {
	url   string
	mu    sync.Mutex
	peers []string
}

func serve(t *testing.T, l net.Listener) *server {
	t.Helper()
	s := &server{url: "http://" + l.Addr().String() + "/"}
	testenv.ServeOn(t, l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		s.mu.Lock()
		s.peers = append(s.peers, host)
		s.mu.Unlock()
		fmt.Fprintf(w, "hello %s", host)
	}))
	return s
}

func (s *server) served() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.peers)
}

// TestContainerAddressReach is the design of `credd container-network`,
// proved on this host with a real Docker daemon: with 169.254.170.2 on lo,
// a server bound there (through Listen, as credd's endpoint is) answers
// the host, a container on Docker's default bridge network, one on a
// user-defined bridge network, and one on the host network — and not a
// machine on another link, although the kernel hands that machine's
// connection over (a plain listener answers it).
func TestContainerAddressReach(t *testing.T) {
	ip := ipPath(t)
	testenv.Docker(t)
	addr := testenv.HostContainerAddress(t)
	if got := Addresses(); !slices.Equal(got, []netip.Addr{Address}) || addr != Address {
		t.Fatalf("with %s on lo, Addresses() = %v", addr, got)
	}
	bin := testenv.BuildStatic(t, "./testdata/httpget")
	image := testenv.ImportImage(t, "httpget", map[string]string{"/httpget": bin})

	l, err := Listen("tcp", netip.AddrPortFrom(Address, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	refused := make(chan string, 10)
	l.Refused = func(peer net.Addr) {
		host, _, _ := net.SplitHostPort(peer.String())
		refused <- host
	}
	srv := serve(t, l)

	// The host itself.
	resp, err := http.Get(srv.url)
	if err != nil {
		t.Fatalf("the host cannot reach %s: %v", srv.url, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "hello ") {
		t.Fatalf("the host got %d %q", resp.StatusCode, body)
	}

	// Containers: the default bridge, a user-defined bridge, the host network.
	network := fmt.Sprintf("credhelper-test-%d", os.Getpid())
	testenv.DockerRun(t, "network", "create", network)
	t.Cleanup(func() {
		if out, err := testenv.DockerOutput(t, "network", "rm", network); err != nil {
			t.Errorf("docker network rm: %v\n%s", err, out)
		}
	})
	for _, net := range []string{"bridge", network, "host"} {
		out, err := testenv.DockerOutput(t, "run", "--rm", "--network", net, image, "/httpget", srv.url)
		if err != nil || !strings.HasPrefix(out, "200 hello ") {
			t.Fatalf("a container on network %s got %q (%v)", net, out, err)
		}
		peer := strings.TrimSpace(strings.TrimPrefix(out, "200 hello "))
		if net == "host" {
			continue
		}
		if !strings.HasPrefix(peer, "172.") && !strings.HasPrefix(peer, "192.168.") && !strings.HasPrefix(peer, "10.") {
			t.Errorf("a container on %s reached the server from %s, not from a container network", net, peer)
		}
	}

	// Another machine on a link of this host.
	ns, lan := testenv.LANPeer(t)
	out, err := runOut(ip, "netns", "exec", ns, bin, srv.url)
	if err == nil || strings.Contains(out, "hello") {
		t.Fatalf("a machine on another link got an answer: %q (%v)", out, err)
	}
	select {
	case peer := <-refused:
		if peer != lan {
			t.Fatalf("refused %s, want the other machine's %s", peer, lan)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the listener did not report refusing the other machine")
	}
	if slices.Contains(srv.served(), lan) {
		t.Fatalf("the server served %s", lan)
	}

	// The kernel does hand that machine's connection to a plain listener
	// on the address: without Listen's check it would be answered.
	plain, err := net.Listen("tcp", netip.AddrPortFrom(Address, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	open := serve(t, plain)
	if out, err := runOut(ip, "netns", "exec", ns, bin, open.url); err != nil || out != "200 hello "+lan+"\n" {
		t.Fatalf("a plain listener on %s: the other machine got %q (%v); the test's namespace does not reach the host", Address, out, err)
	}
}

// TestPeerAllowed: loopback and this host's own addresses are allowed; an
// address that is merely on the same link as one of the host's ordinary
// interfaces is not.
func TestPeerAllowed(t *testing.T) {
	for _, a := range []string{"127.0.0.1", "::1", "127.1.2.3"} {
		if !PeerAllowed(netip.MustParseAddr(a)) {
			t.Errorf("PeerAllowed(%s) = false", a)
		}
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	checked := false
	for _, ifc := range ifaces {
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			p, ok := prefixOf(a)
			if !ok || p.Addr().IsLoopback() || !p.Addr().Is4() || p.Bits() > 30 {
				continue
			}
			if !PeerAllowed(p.Addr()) {
				t.Errorf("PeerAllowed(%s), an address of %s, = false", p.Addr(), ifc.Name)
			}
			neighbour := p.Addr().Next()
			if neighbour == p.Addr() || !p.Masked().Contains(neighbour) {
				continue
			}
			if got, want := PeerAllowed(neighbour), isBridge(ifc.Name); got != want {
				t.Errorf("PeerAllowed(%s), on %s's link (bridge: %v), = %v", neighbour, ifc.Name, want, got)
			}
			checked = true
		}
	}
	if !checked {
		t.Log("no IPv4 interface besides loopback: only loopback checked")
	}
}
