//go:build !amd64 || purego

package measure

// syrkKernels lists syrkTile's code paths, for tests.
func syrkKernels() []struct {
	name string
	fn   func(u []float64, ds, m, p0, q0 int, acc []float64)
} {
	return []struct {
		name string
		fn   func(u []float64, ds, m, p0, q0 int, acc []float64)
	}{{"portable", syrkTile}}
}
