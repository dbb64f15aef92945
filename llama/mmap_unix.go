//go:build unix

package llama

import (
	"os"

	"golang.org/x/sys/unix"
)

// mmapFile maps the first size bytes of f read-only; it returns nil when
// the file cannot be mapped (the caller then reads it).
func mmapFile(f *os.File, size int64) []byte {
	if size <= 0 || size != int64(int(size)) {
		return nil
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil
	}
	return b
}

func munmap(b []byte) { _ = unix.Munmap(b) }
