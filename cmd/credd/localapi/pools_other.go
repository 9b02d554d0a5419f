//go:build !linux

package localapi

import (
	"context"
	"log/slog"

	"github.com/credhelper/credhelper/engine"
)

// pools: answer pools are kept on Linux alone (see pools_linux.go); every
// call elsewhere goes through the socket.
type pools struct{}

func newPools(string, *engine.Engine, *slog.Logger) *pools { return nil }

func (*pools) want(string)         {}
func (*pools) run(context.Context) {}
func (*pools) observe()            {}
