//go:build !amd64 || purego

package quant

// useAsm is false: no assembly kernels on this platform or with purego.
const useAsm = false

var asmDot = map[Type]func([]byte, *Act) float32{}

// HasAsm reports whether the assembly kernels are in use.
func HasAsm() bool { return false }

var asmDot4 = map[Type]func([]byte, *[4]*Act, *[4]float32){}
