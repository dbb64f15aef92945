// Package atomicfile writes files so that a reader, or a crash, never sees
// part of one: the content goes to a temporary file in the destination's
// directory, which is renamed into place only when it is complete. Every
// ggmi package that writes a result, a cache entry, a checkpoint or a
// download uses it.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write writes the file at path through a temporary file in the same
// directory (created when missing) and a rename, so that readers see the
// old content or the new, never part of it. fill receives a buffered
// writer; when it (or any step) fails, nothing is left behind and path is
// untouched. With sync the data and then the rename are made durable
// (fsync of the file and of the directory). The file is 0644 (before the
// umask). Errors read "write PATH: …".
func Write(path string, sync bool, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<16)
	if err = fill(bw); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if sync {
		if err = tmp.Sync(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if sync {
		if d, err := os.Open(dir); err == nil {
			_ = d.Sync() // not supported everywhere; the rename is then as durable as the platform makes it
			d.Close()
		}
	}
	return nil
}

// WriteBytes writes b to path with Write.
func WriteBytes(path string, b []byte, sync bool) error {
	return Write(path, sync, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}
