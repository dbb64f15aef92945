package gmm

import (
	"math"
	"math/rand/v2"
	"sort"
)

// sqDist is the squared Euclidean distance between a and b.
func sqDist(a, b []float64) float64 {
	var s float64
	for i := range a {
		t := a[i] - b[i]
		s += t * t
	}
	return s
}

// kmeansPP picks k initial centres from the n points of x by greedy
// k-means++ (each step draws 2+⌊ln k⌋ candidates with probability
// proportional to the squared distance to the nearest chosen centre and
// keeps the one that lowers the potential most). It returns k·d values.
func kmeansPP(rng *rand.Rand, x []float64, n, d, k int) []float64 {
	centers := make([]float64, 0, k*d)
	first := rng.IntN(n)
	centers = append(centers, x[first*d:(first+1)*d]...)
	closest := make([]float64, n)
	var pot float64
	for i := range n {
		closest[i] = sqDist(x[i*d:(i+1)*d], centers[:d])
		pot += closest[i]
	}
	trials := 2 + int(math.Log(float64(k)))
	cum := make([]float64, n)
	cand := make([]int, trials)
	bestDist := make([]float64, n)
	tmpDist := make([]float64, n)
	for c := 1; c < k; c++ {
		var s float64
		for i, v := range closest {
			s += v
			cum[i] = s
		}
		for t := range trials {
			if s > 0 {
				u := rng.Float64() * s
				j := sort.SearchFloat64s(cum, u)
				if j >= n {
					j = n - 1
				}
				cand[t] = j
			} else {
				// Every point coincides with a centre: any choice is as good.
				cand[t] = rng.IntN(n)
			}
		}
		bestPot := math.Inf(1)
		best := cand[0]
		for _, j := range cand {
			cj := x[j*d : (j+1)*d]
			var p float64
			for i := range n {
				v := math.Min(closest[i], sqDist(x[i*d:(i+1)*d], cj))
				tmpDist[i] = v
				p += v
			}
			if p < bestPot {
				bestPot = p
				best = j
				copy(bestDist, tmpDist)
			}
		}
		centers = append(centers, x[best*d:(best+1)*d]...)
		copy(closest, bestDist)
		pot = bestPot
	}
	_ = pot
	return centers
}

// assign writes each point's nearest centre into labels and returns the
// inertia (sum of squared distances) together with each point's distance.
func assign(x, centers []float64, n, d, k int, labels []int, dist []float64) float64 {
	var inertia float64
	for i := range n {
		xi := x[i*d : (i+1)*d]
		best, bd := 0, math.Inf(1)
		for c := range k {
			if v := sqDist(xi, centers[c*d:(c+1)*d]); v < bd {
				best, bd = c, v
			}
		}
		labels[i] = best
		dist[i] = bd
		inertia += bd
	}
	return inertia
}

// kmeans runs Lloyd's algorithm from k-means++ centres and returns the hard
// labels. Empty clusters are moved to the point farthest from its centre.
// It stops when the squared centre shift falls below 1e-4 times the mean
// per-dimension variance of the data (scikit-learn's rule) or after 300
// iterations.
func kmeans(rng *rand.Rand, x []float64, n, d, k int) []int {
	centers := kmeansPP(rng, x, n, d, k)
	labels := make([]int, n)
	dist := make([]float64, n)
	counts := make([]int, k)
	next := make([]float64, k*d)

	var tol float64
	mean := make([]float64, d)
	for i := range n {
		for j := range d {
			mean[j] += x[i*d+j]
		}
	}
	for j := range d {
		mean[j] /= float64(n)
	}
	for i := range n {
		for j := range d {
			t := x[i*d+j] - mean[j]
			tol += t * t
		}
	}
	tol = 1e-4 * tol / float64(n*d)

	for iter := 0; iter < 300; iter++ {
		assign(x, centers, n, d, k, labels, dist)
		clear(counts)
		clear(next)
		for i := range n {
			c := labels[i]
			counts[c]++
			for j := range d {
				next[c*d+j] += x[i*d+j]
			}
		}
		for c := range k {
			if counts[c] == 0 {
				// Relocate to the farthest point and take it from its cluster.
				far := 0
				for i := range n {
					if dist[i] > dist[far] {
						far = i
					}
				}
				old := labels[far]
				if counts[old] > 1 {
					counts[old]--
					for j := range d {
						next[old*d+j] -= x[far*d+j]
					}
				}
				labels[far] = c
				dist[far] = 0
				counts[c] = 1
				copy(next[c*d:(c+1)*d], x[far*d:(far+1)*d])
				continue
			}
		}
		var shift float64
		for c := range k {
			if counts[c] == 0 {
				continue
			}
			inv := 1 / float64(counts[c])
			for j := range d {
				v := next[c*d+j] * inv
				t := v - centers[c*d+j]
				shift += t * t
				centers[c*d+j] = v
			}
		}
		if shift <= tol {
			break
		}
	}
	assign(x, centers, n, d, k, labels, dist)
	return labels
}
