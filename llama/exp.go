package llama

import "github.com/ggmi-dev/ggmi/internal/vecmath"

// exp32 returns e^x rounded to float32 (vecmath.Exp32: equal to
// float32(math.Exp(x)) but for rare rounding ties, at a fraction of the
// cost).
func exp32(x float32) float32 { return vecmath.Exp32(x) }
