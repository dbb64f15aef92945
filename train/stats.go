package train

import (
	"encoding/json"
	"math"

	"github.com/ggmi-dev/ggmi/internal/stats"
)

// Interval is the mean of a sample with its 95% confidence interval.
type Interval struct {
	Mean float64 `json:"mean"`
	// Std is the sample standard deviation (n−1 in the denominator).
	Std float64 `json:"std"`
	// Lo and Hi bound the Student-t 95% interval of the mean:
	// Mean ± t(0.975, n−1)·Std/√n. They are NaN when n < 2.
	Lo float64 `json:"ci95_lo"`
	Hi float64 `json:"ci95_hi"`
	// N is the number of finite values used.
	N int `json:"n"`
}

// MeanCI returns the mean of the finite values of xs with its Student-t
// 95% confidence interval (the values are treated as independent draws,
// e.g. one per seed). NaN and infinite values are left out; with no finite
// value every field but N is NaN.
func MeanCI(xs []float64) Interval {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			v = append(v, x)
		}
	}
	n := len(v)
	iv := Interval{Mean: math.NaN(), Std: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), N: n}
	if n == 0 {
		return iv
	}
	iv.Mean = stats.Mean(v)
	if n < 2 {
		return iv
	}
	iv.Std = stats.StdDev(v, iv.Mean)
	half := stats.THalfWidth95(iv.Std, n)
	iv.Lo, iv.Hi = iv.Mean-half, iv.Mean+half
	return iv
}

// Gap returns the empirical generalization gap |R_test − R̂_train|: the
// absolute difference between the mean token loss on held-out real data
// and on the training set, the quantity Lemma 3.1 bounds. It is NaN when
// either loss is.
func Gap(testLoss, trainLoss float64) float64 {
	return math.Abs(testLoss - trainLoss)
}

// finite returns &x, or nil when x is NaN or infinite (JSON null).
func finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// MarshalJSON writes undefined values (NaN) as null.
func (iv Interval) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Mean *float64 `json:"mean"`
		Std  *float64 `json:"std"`
		Lo   *float64 `json:"ci95_lo"`
		Hi   *float64 `json:"ci95_hi"`
		N    int      `json:"n"`
	}{finite(iv.Mean), finite(iv.Std), finite(iv.Lo), finite(iv.Hi), iv.N})
}
