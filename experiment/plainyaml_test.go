package experiment

import (
	"strings"
	"testing"
)

// Messages about a broken experiment file show neither Go type names nor
// map syntax.
func TestDecodeMessagesArePlain(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"name: x\nbogus: 1\n", "line 2: unknown key bogus"},
		{"name: x\ngeneration:\n  demos: ten\n", `line 3: "ten" is not a whole number`},
		{"name: x\ngeneration: [1, 2]\n", "is not a mapping of keys"},
	}
	for _, c := range cases {
		_, err := decode([]byte(c.yaml))
		if err == nil {
			t.Fatalf("%q: no error", c.yaml)
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) {
			t.Errorf("%q: %q, want %q", c.yaml, msg, c.want)
		}
		for _, bad := range []string{"experiment.", "map[", "!!", "yaml:"} {
			if strings.Contains(msg, bad) {
				t.Errorf("%q: %q shows %q", c.yaml, msg, bad)
			}
		}
	}
}
