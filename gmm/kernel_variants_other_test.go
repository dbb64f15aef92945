//go:build !amd64 || purego

package gmm

type kernelVariant struct {
	name string
	set  func() (restore func())
}

func kernelVariants() []kernelVariant {
	return []kernelVariant{{"generic", func() func() { return func() {} }}}
}
