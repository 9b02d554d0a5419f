package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/credhelper/credhelper/cmd/credd/containernet"
	"github.com/credhelper/credhelper/internal/safetext"
	"github.com/credhelper/credhelper/protocol"
)

const containerNetworkUsage = `usage: credd container-network install|remove|status
  install   put 169.254.170.2 on lo (now, and at every boot with systemd), so that containers on
            Docker's bridge networks reach credd's container credentials endpoint; needs root
  remove    undo install; needs root
  status    show whether the address is there and kept across reboots (exit 0 when it is there)
`

// runContainerNetwork is `credd container-network install|remove|status`.
func runContainerNetwork(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprint(stderr, containerNetworkUsage)
		return protocol.ExitUsage
	}
	cmd := args[0]
	switch cmd {
	case "install", "remove", "status":
	case "help", "-h", "--help":
		fmt.Fprint(stdout, containerNetworkUsage)
		return protocol.ExitOK
	default:
		fmt.Fprintf(stderr, "credd container-network: unknown command %q: run `credd container-network help`\n", safetext.Line(cmd))
		return protocol.ExitUsage
	}
	if runtime.GOOS != "linux" {
		fmt.Fprintf(stderr, "credd container-network %s: only on linux; with Docker Desktop see README, \"Docker and containers\"\n", cmd)
		return protocol.ExitUsage
	}
	setup, err := containernet.DefaultSetup()
	if err != nil {
		fmt.Fprintf(stderr, "credd container-network %s: %v\n", cmd, err)
		return protocol.ExitInternal
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if cmd == "status" {
		return containerNetworkStatus(ctx, setup, stdout, stderr)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintf(stderr, "credd container-network %s changes the host's network and needs root: run `sudo credd container-network %s`\n", cmd, cmd)
		return protocol.ExitUsage
	}
	do := setup.Install
	if cmd == "remove" {
		do = setup.Remove
	}
	done, err := do(ctx)
	for _, line := range done {
		fmt.Fprintln(stdout, line)
	}
	if err != nil {
		fmt.Fprintf(stderr, "credd container-network %s: %s\n", cmd, safetext.Line(err.Error()))
		return protocol.ExitInternal
	}
	return protocol.ExitOK
}

func containerNetworkStatus(ctx context.Context, setup *containernet.Setup, stdout, stderr io.Writer) int {
	st, err := setup.State(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "credd container-network status: %s\n", safetext.Line(err.Error()))
		return protocol.ExitInternal
	}
	code := protocol.ExitOK
	if st.Device == "" {
		fmt.Fprintf(stdout, "address  %s is on no interface: containers on bridge networks cannot reach credd; run `sudo credd container-network install`\n", containernet.Address)
		code = protocol.ExitConfig
	} else {
		fmt.Fprintf(stdout, "address  %s on %s\n", containernet.Address, st.Device)
	}
	switch {
	case st.Unit != "" && st.Enabled:
		fmt.Fprintf(stdout, "boot     %s, enabled\n", st.Unit)
	case st.Unit != "":
		fmt.Fprintf(stdout, "boot     %s, not enabled: run `sudo credd container-network install`\n", st.Unit)
	case !st.Systemd:
		fmt.Fprintln(stdout, "boot     not kept: no systemd runs this machine")
	default:
		fmt.Fprintln(stdout, "boot     not kept: no unit installed")
	}
	return code
}
