package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Mean is the arithmetic mean of v (NaN when v is empty).
func Mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// StdDev is the sample standard deviation of v around its mean m (n−1 in
// the denominator; NaN for fewer than two values).
func StdDev(v []float64, m float64) float64 {
	n := len(v)
	if n < 2 {
		return math.NaN()
	}
	var ss float64
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss / float64(n-1))
}

// THalfWidth95 is the half-width of the 95% Student-t interval of a mean
// of n values with sample standard deviation sd: t_{0.975, n−1}·sd/√n
// (NaN for fewer than two values).
func THalfWidth95(sd float64, n int) float64 {
	if n < 2 {
		return math.NaN()
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(0.975)
	return t * sd / math.Sqrt(float64(n))
}

// TInterval95 returns the mean of v and its 95% Student-t interval
// ([NaN, NaN] for fewer than two values).
func TInterval95(v []float64) (mean float64, ci [2]float64) {
	mean = Mean(v)
	if len(v) < 2 {
		return mean, [2]float64{math.NaN(), math.NaN()}
	}
	h := THalfWidth95(StdDev(v, mean), len(v))
	return mean, [2]float64{mean - h, mean + h}
}
