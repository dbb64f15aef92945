package report

import "testing"

func TestSVGShortLabels(t *testing.T) {
	cases := []struct {
		in, want []string
	}{
		// The common prefix up to a separator goes; the rest is distinct.
		{[]string{"stories_demos-0_temperature-0.6", "stories_demos-2_temperature-1.2"},
			[]string{"0_temperature-0.6", "2_temperature-1.2"}},
		// Still too long: shortened in the middle, both ends kept.
		{[]string{"gen_demos-10_topics-science_temperature-0.7", "gen_demos-3_topics-science_temperature-0.7"},
			[]string{"10_top…erature-0.7", "3_topi…erature-0.7"}},
		// Nothing would be left of one label: kept whole.
		{[]string{"run-", "run-b"}, []string{"run-", "run-b"}},
		{[]string{"run-a", "run-a-b"}, []string{"a", "a-b"}},
		// No separator in the common prefix, or one label: unchanged.
		{[]string{"alpha", "alps"}, []string{"alpha", "alps"}},
		{[]string{"only_one_configuration_label"}, []string{"only_o…ation_label"}},
	}
	for _, tc := range cases {
		got := svgShortLabels(tc.in, 18)
		if len(got) != len(tc.want) {
			t.Fatalf("%q: %q", tc.in, got)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%q: label %d = %q, want %q", tc.in, i, got[i], tc.want[i])
			}
		}
	}
}
