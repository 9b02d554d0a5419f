package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// warmSettle is how long the directories stay quiet before credd looks at
// what changed in them: an installer's writes, renames and links come in
// bursts.
var warmSettle = time.Second

// keepClientWarm warms credhelper's binaries as credd starts (warmClient),
// then again each time one of them is replaced: `go install`, a package
// upgrade or a copy leaves the new binary in the page cache one page at a
// time (or not at all), and every run of it slower, until credd warms it.
// inotify on the binaries' directories says when to look, so an idle credd
// still never wakes for it; what changed is told by each file's identity
// (device, inode, size, modification time), so other files written there
// cost a stat and nothing more. selfDir is watched even while no credhelper
// is in it, for the first install beside credd.
func keepClientWarm(ctx context.Context, log *slog.Logger, selfDir string, find func() []string) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		log.Debug("not watching credhelper's binary for a new install", "err", err)
		warmClient(ctx, log, resolveClients(find()))
		return
	}
	// Non-blocking, so that a read waits in the runtime's poller and Close
	// ends it.
	events := os.NewFile(uintptr(fd), "inotify")
	changed := make(chan struct{}, 1)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			if _, err := events.Read(buf); err != nil {
				return
			}
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}()
	defer func() { events.Close(); <-readerDone }()

	watched := map[string]bool{}
	watch := func(dir string) {
		if dir == "" || watched[dir] {
			return
		}
		const mask = unix.IN_CLOSE_WRITE | unix.IN_MOVED_TO | unix.IN_CREATE | unix.IN_ONLYDIR
		if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
			log.Debug("not watching a directory for a new credhelper", "dir", dir, "err", err)
			return
		}
		watched[dir] = true
	}
	known := map[string]fileID{}
	look := func() (changedPaths []string) {
		found := find()
		paths := resolveClients(found)
		watch(selfDir)
		for _, p := range slices.Concat(found, paths) {
			watch(filepath.Dir(p))
		}
		for _, p := range paths {
			if id, ok := identify(p); ok && id != known[p] {
				known[p] = id
				changedPaths = append(changedPaths, p)
			}
		}
		return changedPaths
	}
	// The directories are watched before anything is read (look), so that a
	// change while credd warms is seen too.
	warmClient(ctx, log, look())
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	settle:
		for {
			select {
			case <-ctx.Done():
				return
			case <-changed:
			case <-time.After(warmSettle):
				break settle
			}
		}
		paths := look()
		if len(paths) == 0 {
			log.Debug("a directory of credhelper's binaries changed, not the binaries")
			continue
		}
		log.Debug("credhelper's binary changed: warming it again", "paths", paths)
		warmClient(ctx, log, paths)
	}
}

// fileID tells one version of a file from the next.
type fileID struct {
	dev, ino    uint64
	size, mtime int64
}

func identify(path string) (fileID, bool) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fileID{}, false
	}
	// Conversions: the fields' types differ between architectures.
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino), size: int64(st.Size), mtime: st.Mtim.Nano()}, true
}
