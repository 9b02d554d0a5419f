package pagecache

import (
	"encoding/binary"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Held is how the page cache holds a file: how many of its pages it holds,
// of how many, and, when the caller may read /proc/kpageflags (root), how
// many of those it holds in folios of at least 16 pages (64 KiB, a fault's
// whole window). Large is -1 when that cannot be read.
type Held struct {
	Resident, Pages, Large int
}

// Inspect says how the page cache holds the regular file at path, without
// bringing any page of it in.
func Inspect(path string) (Held, error) {
	f, size, err := open(path)
	if err != nil {
		return Held{}, err
	}
	defer f.Close()
	h := Held{Pages: int((size + int64(pageSize) - 1) / int64(pageSize)), Large: -1}
	if size == 0 {
		return h, nil
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return Held{}, err
	}
	defer unix.Munmap(mem)
	if h.Resident, err = resident(mem); err != nil {
		return Held{}, err
	}
	if h.Resident != h.Pages {
		return h, nil
	}
	// Every page is in the cache: mapping them reads nothing from disk,
	// and gives their frame numbers.
	if err := unix.Madvise(mem, unix.MADV_POPULATE_READ); err != nil {
		return h, nil
	}
	h.Large, err = largePages(uintptr(unsafe.Pointer(&mem[0])), h.Pages)
	if err != nil {
		h.Large = -1
	}
	return h, nil
}

// pageSize is the system's: 4 KiB on amd64, up to 64 KiB on arm64.
var pageSize = os.Getpagesize()

// resident counts the pages of mem the page cache holds (mincore(2)),
// without bringing any in.
func resident(mem []byte) (int, error) {
	vec := make([]byte, (len(mem)+pageSize-1)/pageSize)
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return 0, e
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n, nil
}

// largePages counts the pages mapped at addr that belong to a folio of at
// least 16 pages, from /proc/self/pagemap (frame numbers, root only) and
// /proc/kpageflags (the head and tail flags of compound pages).
func largePages(addr uintptr, pages int) (int, error) {
	pm, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return 0, err
	}
	defer pm.Close()
	kf, err := os.Open("/proc/kpageflags")
	if err != nil {
		return 0, err
	}
	defer kf.Close()
	entries := make([]byte, 8*pages)
	if _, err := pm.ReadAt(entries, int64(addr/uintptr(pageSize))*8); err != nil {
		return 0, err
	}
	const head, tail = 1 << 15, 1 << 16
	large, run := 0, 0
	end := func() {
		if run >= 16 {
			large += run
		}
		run = 0
	}
	var flags [8]byte
	for i := range pages {
		e := binary.LittleEndian.Uint64(entries[8*i:])
		pfn := e & (1<<55 - 1)
		if e>>63 == 0 || pfn == 0 {
			return 0, fmt.Errorf("page %d: no frame number (not root?)", i)
		}
		if _, err := kf.ReadAt(flags[:], int64(pfn)*8); err != nil {
			return 0, err
		}
		switch f := binary.LittleEndian.Uint64(flags[:]); {
		case f&tail != 0 && run > 0:
			run++
		case f&head != 0:
			end()
			run = 1
		default:
			end()
		}
	}
	end()
	return large, nil
}
