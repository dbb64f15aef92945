package synth

import (
	"fmt"
	"strings"
)

// ParseSelector returns the demonstration selector named by spec: "random"
// (or empty), "stratified:FIELD" (strata of a record field, e.g.
// stratified:category), or "diverse" (farthest-point selection on the
// vectors of embed, which must then be given).
func ParseSelector(spec string, embed EmbedFunc) (Selector, error) {
	switch {
	case spec == "" || spec == "random":
		return RandomSelector{}, nil
	case strings.HasPrefix(spec, "stratified:"):
		f := strings.TrimPrefix(spec, "stratified:")
		if f == "" {
			return nil, fmt.Errorf("selector %q names no field (want stratified:FIELD)", spec)
		}
		return StratifiedSelector{Field: f}, nil
	case spec == "diverse":
		if embed == nil {
			return nil, fmt.Errorf("the diverse selector needs an embedder")
		}
		return NewDiverseSelector(embed), nil
	}
	return nil, fmt.Errorf("unknown selector %q (want random, stratified:FIELD or diverse)", spec)
}
