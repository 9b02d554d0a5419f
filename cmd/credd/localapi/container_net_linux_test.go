package localapi

import (
	"context"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// With the container address on the host (as `credd container-network
// install` leaves it), credd serves the endpoint there too, at the loopback
// endpoint's port, and hands out URLs there: the one URL that works for host
// processes and for containers on the host network and on bridges. The
// address is looked for at each grant, so it may come after credd started.
func TestContainerNetworkURL(t *testing.T) {
	addr := testenv.HostContainerAddress(t)
	e := startContainerWith(t, func(c *Container) { c.ContainerNetwork = true })
	loopback := e.addr
	g := e.grant("served")
	u, err := url.Parse(g.URL)
	if err != nil {
		t.Fatal(err)
	}
	ap, err := netip.ParseAddrPort(u.Host)
	if err != nil || ap.Addr() != addr {
		t.Fatalf("grant URL %s, want one on %s", g.URL, addr)
	}
	if ap.Port() != netip.MustParseAddrPort(loopback).Port() {
		t.Errorf("the container address is served at port %d, the loopback endpoint at %s: want the same port", ap.Port(), loopback)
	}
	e.addr = u.Host
	if status, body := e.get(u.Path, "", "Authorization: "+g.Token+"\r\n"); status != 200 || !strings.Contains(body, `"AccessKeyId":"ASIA`) {
		t.Fatalf("GET %s: %d %.60s", g.URL, status, body)
	}
	// Every refusal rule holds there as on loopback.
	for _, tc := range []struct {
		name, host string
		headers    []string
		status     int
	}{
		{"no token", "", nil, 401},
		{"a wrong token", "", []string{"Authorization: " + strings.Repeat("A", protocol.GrantTokenLen) + "\r\n"}, 403},
		{"Origin", "", []string{"Authorization: " + g.Token + "\r\n", "Origin: http://evil.example\r\n"}, 403},
		{"a foreign Host", "evil.example", []string{"Authorization: " + g.Token + "\r\n"}, 403},
	} {
		if status, body := e.get(u.Path, tc.host, tc.headers...); status != tc.status || strings.Contains(body, "ASIA") {
			t.Errorf("%s at %s: %d %s, want %d", tc.name, u.Host, status, body, tc.status)
		}
	}
	// The loopback endpoint goes on answering.
	e.addr = loopback
	if status, _ := e.get(u.Path, "", "Authorization: "+g.Token+"\r\n"); status != 200 {
		t.Errorf("the grant at %s: %d", loopback, status)
	}
	if n := strings.Count(e.log.String(), "container endpoint listening on the container address"); n != 1 {
		t.Errorf("credd logged listening on the container address %d times, want once:\n%s", n, e.log)
	}

	// credd restarted: the renewed grant is served at the container address
	// and port the first credd gave.
	second := startContainerWith(t, func(c *Container) { c.ContainerNetwork = true })
	e.stop()
	var r protocol.GrantResponse
	if err := second.client.Do(clientCtx(t), protocol.PathGrants, protocol.GrantRequest{Profile: "served", ID: g.ID, Token: g.Token, URL: g.URL}, &r); err != nil {
		t.Fatalf("renewing the grant at %s: %v", g.URL, err)
	}
	if r.URL != g.URL {
		t.Errorf("renewed URL %s, want %s", r.URL, g.URL)
	}
	second.addr = u.Host
	if status, body := second.get(u.Path, "", "Authorization: "+g.Token+"\r\n"); status != 200 {
		t.Errorf("the renewed grant at %s: %d %s", u.Host, status, body)
	}
}

// Told where to listen (--container-addr), credd listens there alone and
// hands out its loopback URL, whatever addresses the host holds.
func TestContainerNetworkNotWhenAddressesGiven(t *testing.T) {
	testenv.HostContainerAddress(t)
	e := startContainer(t)
	g := e.grant("served")
	if want := "http://" + e.addr + protocol.ContainerPathPrefix + g.ID; g.URL != want {
		t.Errorf("grant URL %s, want %s", g.URL, want)
	}
	if addrs := e.container.Addrs(); len(addrs) != 1 {
		t.Errorf("listening on %v, want %s alone", addrs, e.addr)
	}
}

// A machine on another link that routes 169.254.170.2 through this host
// gets a closed connection even with a live grant's token, and credd's log
// says so without the token.
func TestContainerNetworkRefusesOtherMachines(t *testing.T) {
	testenv.HostContainerAddress(t)
	ns, lan := testenv.LANPeer(t)
	e := startContainerWith(t, func(c *Container) { c.ContainerNetwork = true })
	g := e.grant("served")
	u, err := url.Parse(g.URL)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(u.Host, ":")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "bash", "-c",
		`exec 3<>"/dev/tcp/$HOST/$PORT" || exit 9; printf 'GET %s HTTP/1.0\r\nHost: %s\r\nAuthorization: %s\r\n\r\n' "$URLPATH" "$HOST:$PORT" "$TOKEN" >&3; cat <&3`)
	cmd.Env = append(os.Environ(), "HOST="+host, "PORT="+port, "URLPATH="+u.Path, "TOKEN="+g.Token)
	out, err := cmd.CombinedOutput()
	if strings.Contains(string(out), "AccessKeyId") || strings.Contains(string(out), "HTTP/") {
		t.Fatalf("a machine on another link got an answer: %q (%v)", out, err)
	}
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 9 {
		t.Fatalf("the other machine's connection did not reach the host: %s", out)
	}
	testenv.Eventually(t, 10*time.Second, "credd to log the refused connection", func() bool {
		return strings.Contains(e.log.String(), "container endpoint refused a connection")
	})
	log := e.log.String()
	if !strings.Contains(log, "remote="+lan+":") || strings.Contains(log, g.Token) {
		t.Errorf("credd's log of the refused connection:\n%s", log)
	}
}
