package measure

import "github.com/ggmi-dev/ggmi/internal/vecmath"

// expNeg is e^x for x ≤ 0 (vecmath.ExpNeg: a few ulps, several times
// faster than math.Exp). Kernel matrices evaluate it n² times.
func expNeg(x float64) float64 { return vecmath.ExpNeg(x) }
