package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/cmd/credd/localapi"
	"github.com/credhelper/credhelper/engine"
	"github.com/credhelper/credhelper/internal/buildinfo"
	"github.com/credhelper/credhelper/internal/safetext"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

const usage = `credd — keeps AWS credentials fresh for credhelper

usage:
  credd run [--socket PATH] [--log-file FILE] [--log-level debug|info|warn] [--log-format text|json]
            [--container-addr 127.0.0.1:PORT,...]   where to serve the container credentials endpoint
                                   of ` + "`credhelper exec`" + ` (default 127.0.0.1 on a port the system picks,
                                   and 169.254.170.2 whenever the host holds it: credd container-network)
            [--passphrase-stdin]   read the file keyring's passphrase from stdin (to its end, less a final
                                   newline) instead of CREDHELPER_KEYRING_PASSPHRASE
  credd install [--system] [--no-start]   run credd as a service (systemd user unit, launchd agent, Windows service)
  credd uninstall|start|stop|restart|status [--system]
  credd completion bash|zsh|fish   print a shell completion script
  credd container-network install|remove|status   169.254.170.2 on lo for containers on bridge networks (root)
  credd version

environment:
  CREDHELPER_SOCKET               socket path (default ` + "`credhelper`" + `'s: $XDG_RUNTIME_DIR/credhelper/credd.sock)
  CREDHELPER_KEYRING_BACKEND      file, keyctl, secret-service, pass, keychain, wincred, kwallet
  CREDHELPER_KEYRING_DIR          directory of the file backend
  CREDHELPER_KEYRING_PASSPHRASE   passphrase of the file backend (there is no built-in one); credd
                                  reads it once and removes it from its environment
  CREDHELPER_MFA_SESSION_DURATION default MFA session length (e.g. 12h)
  CREDHELPER_SSO_CACHE=aws-cli    also write refreshed SSO tokens to ~/.aws/sso/cache for plain SDK profiles
  CREDHELPER_CONTAINER_ADDR       the container endpoint's addresses, as --container-addr
  AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_STS
`

func run(args []string, stdout, stderr io.Writer) int {
	// The passphrase is read once, here, and leaves credd's environment at
	// once: nothing credd starts (systemctl, launchctl, schtasks) inherits it.
	passphrase := takeEnv(cache.EnvKeyringPassphrase)
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return protocol.ExitUsage
	}
	switch args[0] {
	case "run":
		return runDaemon(args[1:], passphrase, os.Stdin, stderr)
	case "install", "uninstall", "start", "stop", "restart", "status":
		return runService(args[0], args[1:], passphrase != "", stdout, stderr)
	case "completion":
		return completion(args[1:], stdout, stderr)
	case "container-network":
		return runContainerNetwork(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "credd", buildinfo.String())
		return protocol.ExitOK
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return protocol.ExitOK
	}
	fmt.Fprintf(stderr, "credd: unknown command %q: run `credd help`\n", args[0])
	return protocol.ExitUsage
}

// takeEnv returns the variable's value and removes it from the environment:
// Go's copy (os.Unsetenv) and, on Linux, the one /proc/PID/environ shows.
func takeEnv(key string) string {
	v, ok := os.LookupEnv(key)
	if ok {
		os.Unsetenv(key)
		wipeExecEnv(key) // best effort: the process is not dumpable anyway (harden)
	}
	return v
}

// maxPassphrase bounds what --passphrase-stdin reads.
const maxPassphrase = 64 << 10

// readPassphrase reads the passphrase --passphrase-stdin hands over: all of
// r up to its end, less one line ending. credhelper writes it on a pipe when
// it starts credd, so that it never is in credd's environment (which
// /proc/PID/environ shows for the whole life of the process).
func readPassphrase(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxPassphrase+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("--passphrase-stdin: reading stdin: %w", err)
	case len(b) > maxPassphrase:
		return "", fmt.Errorf("--passphrase-stdin: stdin holds more than %d bytes: give the passphrase alone, on one line", maxPassphrase)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", errors.New("--passphrase-stdin: stdin is empty: write the passphrase to credd's stdin, or leave out --passphrase-stdin")
	}
	return s, nil
}

func runDaemon(args []string, passphrase string, stdin io.Reader, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", protocol.DefaultSocketPath(), "unix socket to serve on")
	logFile := fs.String("log-file", "", "append the log to this file instead of stderr")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	format := fs.String("log-format", "text", "text or json")
	passStdin := fs.Bool("passphrase-stdin", false, "read the file keyring's passphrase from stdin")
	containerAddrs = fs.String("container-addr", cmp.Or(os.Getenv(localapi.EnvContainerAddr), localapi.DefaultContainerAddr),
		"comma-separated host:port list the container credentials endpoint listens on")
	if err := fs.Parse(args); err != nil {
		return protocol.ExitUsage
	}
	fs.Visit(func(f *flag.Flag) { containerAddrsGiven = containerAddrsGiven || f.Name == "container-addr" })
	containerAddrsGiven = containerAddrsGiven || os.Getenv(localapi.EnvContainerAddr) != ""
	// Before anything else: no core dump, and on Linux no other process of
	// this user reading credd's memory or /proc/PID/environ.
	if err := harden(); err != nil {
		fmt.Fprintln(stderr, "credd: cannot disable core dumps:", err)
		return protocol.ExitInternal
	}
	if *passStdin {
		p, err := readPassphrase(stdin)
		if err != nil {
			fmt.Fprintln(stderr, "credd:", err)
			return protocol.ExitUsage
		}
		passphrase = p
	}
	kcfg := cache.KeyringConfigFromEnv()
	kcfg.Passphrase = passphrase
	log, closeLog, err := newLogger(stderr, *logFile, *level, *format)
	if err != nil {
		fmt.Fprintln(stderr, "credd:", err)
		return protocol.ExitUsage
	}
	defer closeLog()
	serveUntilStopped := serve
	if startedByServiceManager() {
		serveUntilStopped = serveManaged
	}
	if err := serveUntilStopped(*socket, kcfg, log); err != nil {
		log.Error("credd stopped", "err", err)
		if *logFile != "" {
			fmt.Fprintln(stderr, "credd:", safetext.Clean(err.Error()))
		}
		if errors.Is(err, localapi.ErrAlreadyRunning) || errors.Is(err, localapi.ErrUnfitSocket) {
			return protocol.ExitDaemon
		}
		return protocol.ExitInternal
	}
	return protocol.ExitOK
}

func newLogger(stderr io.Writer, file, level, format string) (*slog.Logger, func(), error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	w, closer := stderr, func() {}
	if file != "" {
		f, err := openLog(file)
		if err != nil {
			return nil, nil, err
		}
		w, closer = f, func() { f.Close() }
	}
	// Each handler writes a record in one Write; safetext redacts the value
	// of any secret-bearing key in it (an AWS or config message quoting one)
	// and escapes what the handler leaves raw: the text handler quotes every
	// control character itself, the JSON handler leaves DEL, C1 and the bidi
	// controls, which safetext.JSON writes as \u escapes.
	opts := &slog.HandlerOptions{Level: lv, ReplaceAttr: redactCredentials}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(safetext.JSON(w), opts)), closer, nil
	case "text":
		return slog.New(slog.NewTextHandler(safetext.Text(w), opts)), closer, nil
	}
	closer()
	return nil, nil, fmt.Errorf("--log-format %q: use text or json", format)
}

// redactCredentials keeps credentials passed to a log call from printing
// their secret parts, in the text and JSON formats alike (the JSON handler
// would marshal every field). It lives here rather than as a LogValue method
// on protocol.Credentials: that would pull log/slog, 40 KB, into credhelper.
func redactCredentials(_ []string, a slog.Attr) slog.Attr {
	switch c := a.Value.Any().(type) {
	case protocol.Credentials:
		a.Value = slog.StringValue(c.String())
	case *protocol.Credentials:
		if c != nil {
			a.Value = slog.StringValue(c.String())
		}
	}
	return a
}

// containerAddrs is --container-addr: where the container credentials
// endpoint listens. Unless it (or CREDHELPER_CONTAINER_ADDR) is given, the
// endpoint also listens on the container address whenever the host holds it
// (`credd container-network install`); given, it is the whole list.
var (
	containerAddrs      = new(string)
	containerAddrsGiven bool
)

// serve runs the daemon until SIGINT or SIGTERM.
func serve(socket string, kcfg cache.KeyringConfig, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	l, release, err := localapi.Listen(socket, log)
	if err != nil {
		return err
	}
	return serveOn(ctx, socket, kcfg, l, release, log)
}

// serveOn serves on l until ctx is done, then shuts down, closes l and
// releases the socket's lock: the one way credd stops, whether a signal
// (serve) or the Windows service manager (serviceProgram) asks.
func serveOn(ctx context.Context, socket string, kcfg cache.KeyringConfig, l net.Listener, release func(), log *slog.Logger) error {
	defer release()
	defer l.Close()

	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	var store cache.Store
	backend := kcfg.Backend
	ks, err := cache.OpenKeyring(openCtx, kcfg)
	cancel()
	if err != nil {
		// Keep serving, so every caller sees why instead of a daemon that
		// does not answer.
		log.Error("keyring unavailable: every request will fail until credd is restarted with it fixed", "err", err)
		store = unavailableStore{err: err}
	} else {
		store, backend = ks, ks.Backend()
	}
	files := sources.FilesFromEnv()
	stsClients := sources.NewSTSClients(sources.STSOptions{})
	ssoClients := map[[2]string]*sources.SSO{}
	var signIn sources.SignIn
	if c, err := sources.NewSignInClient(sources.SignInOptions{}); err == nil {
		signIn = c
	} else {
		log.Error("sign-in client unavailable: aws login sessions cannot be refreshed", "err", err)
	}
	var ssoMu sync.Mutex
	eng := engine.New(engine.Options{
		Config: sources.NewLoader(files),
		Store:  store,
		STS: func(ctx context.Context, chain *sources.Chain) (sources.STS, error) {
			return stsClients.For(ctx, files, chain)
		},
		SSO: func(ctx context.Context, cfg *sources.SSOConfig) (engine.SSOClient, error) {
			// One client per region and session: each keeps its connections.
			key := [2]string{cfg.Region, cfg.Session}
			ssoMu.Lock()
			defer ssoMu.Unlock()
			if c := ssoClients[key]; c != nil {
				return c, nil
			}
			c, err := sources.NewSSO(sources.SSOOptions{Region: cfg.Region, Session: cfg.Session})
			if err != nil {
				return nil, err
			}
			ssoClients[key] = c
			return c, nil
		},
		WriteSSOCache: os.Getenv(engine.EnvSSOCache) == "aws-cli",
		SignIn:        signIn,
		Log:           log,
		Policy:        cache.DefaultPolicy(),
	})
	started := time.Now()
	container := &localapi.Container{Engine: eng, Log: log, ContainerNetwork: !containerAddrsGiven}
	if err := container.Listen(splitAddrs(*containerAddrs)); err != nil {
		// credential_process goes on working; `credhelper exec` says why not.
		log.Error("container credentials endpoint unavailable: credhelper exec will fail until credd is restarted with it fixed", "err", err)
	} else {
		container.ListenContainerNetwork()
	}
	srv := &localapi.Server{Engine: eng, Log: log, Container: container, Socket: socket, Status: func() protocol.StatusResponse {
		return protocol.StatusResponse{Version: buildinfo.String(), PID: os.Getpid(), Started: started, Socket: socket,
			KeyringBackend: backend, ConfigFile: files.Config, CredsFile: files.Credentials}
	}}
	containerCtx, stopContainer := context.WithCancel(ctx)
	containerDone := make(chan struct{})
	go func() {
		defer close(containerDone)
		if err := container.Serve(containerCtx); err != nil {
			log.Error("container credentials endpoint stopped", "err", err)
		}
	}()
	defer func() { stopContainer(); <-containerDone }()
	engineDone := make(chan struct{})
	go func() {
		defer close(engineDone)
		eng.Run(ctx)
	}()
	warmCtx, stopWarm := context.WithCancel(ctx)
	warmDone := make(chan struct{})
	go func() {
		defer close(warmDone)
		selfDir, find := clientSpots()
		keepClientWarm(warmCtx, log, selfDir, find)
	}()
	defer func() { stopWarm(); <-warmDone }()
	log.Info("credd started", "version", buildinfo.String(), "pid", os.Getpid(), "socket", socket,
		"keyring", backend, "config", files.Config, "credentials", files.Credentials, "container_endpoint", strings.Join(container.Addrs(), ","))
	err = srv.Serve(ctx, l)
	log.Info("credd stopping")
	// The engine ends its fetches and logins and finishes its keyring writes
	// (each bounded); this bounds the whole in case the keyring hangs.
	select {
	case <-engineDone:
	case <-time.After(shutdownWait):
		log.Warn("credd stopped before its keyring writes finished", "waited", shutdownWait)
	}
	return err
}

// splitAddrs reads a comma-separated address list.
func splitAddrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// shutdownWait bounds how long credd waits at shutdown, once the API has
// stopped (up to 5 s), for the engine's keyring writes: a keyring call gives
// up after 10 s by default (cache.DefaultKeyringTimeout), and a service
// manager waits about 20 s for a service to stop.
const shutdownWait = 10 * time.Second

// unavailableStore answers every call with the error that opening the keyring
// gave.
type unavailableStore struct{ err error }

func (u unavailableStore) fail() error {
	return &protocol.Error{Code: protocol.CodeKeyring, Message: u.err.Error(),
		Remedy: "fix credd's environment, then stop credd (`" + protocol.StopCreddCommand() + "`, or `credd restart` for the service); credhelper starts it again"}
}
func (u unavailableStore) List(context.Context) ([]cache.Meta, error) { return nil, u.fail() }
func (u unavailableStore) Load(context.Context, cache.Kind, string) (cache.Entry, error) {
	return cache.Entry{}, u.fail()
}
func (u unavailableStore) Save(context.Context, cache.Entry) error          { return u.fail() }
func (u unavailableStore) Delete(context.Context, cache.Kind, string) error { return u.fail() }
