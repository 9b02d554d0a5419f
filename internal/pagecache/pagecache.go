// Package pagecache puts an executable's pages in the page cache the way
// that makes each later run of it cheapest.
//
// A short-lived process such as `credhelper process` spends a good part of
// its life in the kernel mapping its binary's pages: every page fault maps
// the 16 pages around it, and each of those pages costs a little to map and
// to unmap at exit, page by page when the page cache holds them as single
// pages. That is how a binary's pages are held after it is loaded by running
// it (after a boot) or written by the Go linker (after `go install`). Held in
// large folios instead (runs of up to 512 pages), the same pages are mapped
// and unmapped a folio at a time: on Linux 6.18 on ext4, `credhelper process`
// takes 12–18% less time so (an empty Go program 7–12%): the larger the
// binary, the larger the gain.
//
// Warm reads a file into the page cache in large folios; Evict drops what
// the page cache holds of it, so that its next run loads it as a run does.
// Both are hints: they change no file, never fail a caller's work, and do
// nothing where the kernel, the file system or the platform cannot.
package pagecache

import "errors"

// MaxSize is the largest file Warm reads: far more than any build of
// credhelper, far less than what would crowd out other pages.
const MaxSize = 64 << 20

// ErrUnsupported is returned where the platform has no way to do it.
var ErrUnsupported = errors.ErrUnsupported
