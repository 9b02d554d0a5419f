package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/kardianos/service"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/cmd/credd/localapi"
	"github.com/credhelper/credhelper/install"
	"github.com/credhelper/credhelper/protocol"
)

// serveManaged is `credd run` started by the Windows service manager, which
// waits for the process it started to report in (service.Run) and then
// stops it through the same channel rather than with a signal.
func serveManaged(socket string, kcfg cache.KeyringConfig, log *slog.Logger) error {
	s, err := service.New(newServiceProgram(socket, kcfg, log), &service.Config{Name: install.Name})
	if err != nil {
		return err
	}
	return s.Run()
}

// serviceProgram is credd as a kardianos service.Program. Start listens on
// the socket before it returns, so a socket another credd holds fails the
// start the service manager sees, then serves in the background; Stop ends
// the serve the way SIGTERM does on unix (serveOn's context) and waits for
// it to finish.
type serviceProgram struct {
	socket      string
	keyring     cache.KeyringConfig
	log         *slog.Logger
	stopTimeout time.Duration
	// serveOn and os.Exit but in tests.
	serve func(ctx context.Context, socket string, kcfg cache.KeyringConfig, l net.Listener, release func(), log *slog.Logger) error
	exit  func(code int)

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan error
}

func newServiceProgram(socket string, kcfg cache.KeyringConfig, log *slog.Logger) *serviceProgram {
	// The HTTP server's shutdown takes up to 5 s; the service manager waits
	// about 20 s for a service to stop.
	return &serviceProgram{socket: socket, keyring: kcfg, log: log, stopTimeout: 15 * time.Second, serve: serveOn, exit: os.Exit}
}

func (p *serviceProgram) Start(service.Service) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancel != nil {
		return fmt.Errorf("credd is already running on %s", p.socket)
	}
	l, release, err := localapi.Listen(p.socket, p.log)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	p.cancel, p.done = cancel, done
	go func() {
		err := p.serve(ctx, p.socket, p.keyring, l, release, p.log)
		if ctx.Err() == nil {
			// Stopped by itself, not by Stop. kardianos has no way to tell the
			// service manager so but an exit, which it records as a failure
			// (and acts on with the service's recovery actions).
			p.log.Error("credd stopped", "err", err)
			p.exit(protocol.ExitInternal)
		}
		done <- err
	}()
	return nil
}

func (p *serviceProgram) Stop(service.Service) error {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.cancel, p.done = nil, nil
	p.mu.Unlock()
	if cancel == nil {
		return nil // never started
	}
	cancel()
	select {
	case err := <-done:
		return err
	case <-time.After(p.stopTimeout):
		return fmt.Errorf("credd did not stop within %v", p.stopTimeout)
	}
}
