package measure

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
)

// resultJSON is the JSON form of a Result: non-finite numbers (a CI that
// was not computed, an undefined p-value) are written as null, which
// encoding/json cannot do for float64.
type resultJSON struct {
	Name     string         `json:"name"`
	Value    *float64       `json:"value"`
	CI95     *[2]float64    `json:"ci95"`
	N        int            `json:"n"`
	Settings map[string]any `json:"settings,omitempty"`
}

// MarshalJSON writes {"name", "value", "ci95": [lo, hi], "n", "settings"};
// NaN and infinite values (also inside Settings) become null.
func (r Result) MarshalJSON() ([]byte, error) {
	j := resultJSON{Name: r.Name, N: r.N}
	if finite(r.Value) {
		v := r.Value
		j.Value = &v
	}
	if finite(r.CI95[0]) && finite(r.CI95[1]) {
		ci := [2]float64(r.CI95)
		j.CI95 = &ci
	}
	if len(r.Settings) > 0 {
		j.Settings = make(map[string]any, len(r.Settings))
		for k, v := range r.Settings {
			j.Settings[k] = jsonSafe(reflect.ValueOf(v))
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes (null as NaN). Settings come
// back as decoded JSON values (numbers as float64).
func (r *Result) UnmarshalJSON(b []byte) error {
	var j resultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("measure: result: %w", err)
	}
	*r = Result{Name: j.Name, Value: math.NaN(), CI95: nanCI, N: j.N, Settings: j.Settings}
	if j.Value != nil {
		r.Value = *j.Value
	}
	if j.CI95 != nil {
		r.CI95 = *j.CI95
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// jsonSafe replaces non-finite floats by nil inside maps, slices and arrays.
func jsonSafe(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if !finite(f) {
			return nil
		}
		return f
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = jsonSafe(v.Index(i))
		}
		return out
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return v.Interface()
		}
		out := make(map[string]any, v.Len())
		it := v.MapRange()
		for it.Next() {
			out[it.Key().String()] = jsonSafe(it.Value())
		}
		return out
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return jsonSafe(v.Elem())
	}
	return v.Interface()
}
