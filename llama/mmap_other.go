//go:build !unix

package llama

import "os"

// mmapFile is not available on this platform: files are read.
func mmapFile(*os.File, int64) []byte { return nil }

func munmap([]byte) {}
