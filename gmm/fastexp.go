package gmm

import (
	"math"

	"github.com/ggmi-dev/ggmi/internal/vecmath"
)

// expNeg returns e^u for u in (expCutoff, 0], the range of the E-step's
// normalisation, with vecmath.ExpNeg (about 2 ulp of math.Exp). Outside
// that range it defers to math.Exp.
func expNeg(u float64) float64 {
	if !(u > expCutoff && u <= 0) {
		return math.Exp(u)
	}
	return vecmath.ExpNeg(u)
}
