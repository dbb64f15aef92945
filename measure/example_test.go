package measure_test

import (
	"fmt"

	"github.com/ggmi-dev/ggmi/measure"
)

// The Vendi score of two orthogonal and one repeated direction.
func ExampleVendi() {
	r, err := measure.Vendi([][]float64{{1, 0}, {0, 1}, {0, 2}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.3f\n", r.Value)
	// Output: 1.890
}

// The n-gram diversity of a repetitive text, per n and combined.
func ExampleNGramDiversity() {
	r, err := measure.NGramDiversity([]string{"a b a b"}, 4, "mean")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s %.4f %v\n", r.Name, r.Value, r.Settings["ratio_n"])
	// Output: ngram-diversity 0.7917 [0.5 0.6666666666666666 1 1]
}
