package measure

import (
	"errors"
	"math"
)

// The built-in estimators, by name. Params (Input.Params) per estimator:
//
//	hsic, hsic-unbiased, hsic-normalized: permutations (0), linear (1 = linear kernels)
//	hsic-rff: features (100)
//	ksg-mi: k (3), pca_dim (0)
//	knn-entropy: k (3), on X
//	knn-kl, mmd, c2st: X ~ P, Y ~ Q; k (3) / permutations (0) / folds (5)
//	semantic-entropy-cosine: threshold (0.9), on X (LogProbs optional)
//	ngram-diversity: max_n (4); self-repetition: n (4); self-bleu: max_n (4)
//	compression-ratio, homogenization: Texts
//	kmeans-entropy: k (10), on X; vendi: on X
func init() {
	hs := func(unb, norm bool) Estimator {
		return func(in Input) (Result, error) {
			k := Kernel{}
			if in.param("linear", 0) == 1 {
				k.Kind = "linear"
			}
			return HSIC(in.X, in.Y, HSICOptions{KernelX: k, KernelY: k, Unbiased: unb, Normalized: norm,
				Permutations: int(in.param("permutations", 0)), Seed: in.Seed})
		}
	}
	must := func(name string, e Estimator) {
		if err := Register(name, e); err != nil {
			panic(err) // programming error at init
		}
	}
	must("hsic", hs(false, false))
	must("hsic-unbiased", hs(true, false))
	must("hsic-normalized", hs(false, true))
	must("hsic-rff", func(in Input) (Result, error) {
		return HSICRFF(in.X, in.Y, RFFOptions{Features: int(in.param("features", 100)), Seed: in.Seed})
	})
	must("ksg-mi", func(in Input) (Result, error) {
		return KSG(in.X, in.Y, KSGOptions{K: int(in.param("k", 3)), PCADim: int(in.param("pca_dim", 0))})
	})
	must("knn-entropy", func(in Input) (Result, error) { return KLEntropy(in.X, int(in.param("k", 3))) })
	must("knn-kl", func(in Input) (Result, error) { return KLDivergence(in.X, in.Y, int(in.param("k", 3))) })
	must("mmd", func(in Input) (Result, error) {
		return MMD(in.X, in.Y, MMDOptions{Permutations: int(in.param("permutations", 0)), Seed: in.Seed})
	})
	must("c2st", func(in Input) (Result, error) {
		return ClassifierTwoSample(in.X, in.Y, C2STOptions{Folds: int(in.param("folds", 5)), Seed: in.Seed})
	})
	must("semantic-entropy-cosine", func(in Input) (Result, error) {
		t := in.param("threshold", 0.9)
		if math.IsNaN(t) {
			return Result{}, errors.New("measure: threshold is NaN")
		}
		return SemanticEntropyCosine(in.X, t, in.LogProbs)
	})
	must("ngram-diversity", func(in Input) (Result, error) {
		return NGramDiversity(in.Texts, int(in.param("max_n", 4)), "mean")
	})
	must("self-repetition", func(in Input) (Result, error) { return SelfRepetition(in.Texts, int(in.param("n", 4))) })
	must("compression-ratio", func(in Input) (Result, error) { return CompressionRatio(in.Texts) })
	must("self-bleu", func(in Input) (Result, error) { return SelfBLEU(in.Texts, int(in.param("max_n", 4))) })
	must("homogenization", func(in Input) (Result, error) { return Homogenization(in.Texts) })
	must("kmeans-entropy", func(in Input) (Result, error) { return KMeansEntropy(in.X, int(in.param("k", 10)), in.Seed) })
	must("vendi", func(in Input) (Result, error) { return Vendi(in.X) })
}
