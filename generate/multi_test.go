package generate

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/llm"
)

// deadModel is a scripted endpoint that answers every request with 500.
func deadModel(t *testing.T) *fakeModel {
	f := newFakeModel(t)
	f.fault = func(w http.ResponseWriter, r *http.Request, body []byte, arrival int) bool {
		w.WriteHeader(http.StatusInternalServerError)
		return true
	}
	return f
}

// TestRunSeveralEndpointsGiveUp: the run gives up (ErrGaveUp, state
// saved) only when every endpoint is dead; with one dead endpoint among
// live ones it completes, each request answered once, with fixed and with
// adaptive concurrency.
func TestRunSeveralEndpointsGiveUp(t *testing.T) {
	plan := testPlan(t, 24, 2, 4) // 12 requests
	cases := []struct {
		name     string
		live     int
		adaptive bool
	}{
		{"one live of three", 1, false},
		{"one live of three, adaptive", 1, true},
		{"none live", 0, false},
		{"none live, adaptive", 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var models []*fakeModel
			var bs []llm.Backend
			for i := range 3 {
				f := newFakeModel(t)
				if i >= c.live {
					f = deadModel(t)
				}
				models = append(models, f)
				o, err := llm.NewOpenAI(llm.OpenAIOptions{BaseURL: f.url(), Model: "m", APIKeyEnv: "GGMI_TEST_NO_KEY"})
				if err != nil {
					t.Fatal(err)
				}
				bs = append(bs, o)
			}
			// The dead ones first, so that the first requests meet them.
			bs[0], bs[2] = bs[2], bs[0]
			m, err := llm.NewMulti(bs, nil, llm.MultiOptions{Backoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			var inner llm.Backend = m
			var ad *Adaptive
			if c.adaptive {
				ad = NewAdaptive(m, AdaptiveOptions{})
				inner = ad
			}
			opt := Options{Plan: plan, Model: "m", Concurrency: 4, OutDir: t.TempDir(), GiveUpAfter: 50 * time.Millisecond,
				Adaptive: ad, Endpoints: m,
				Backend: llm.Limited(inner, llm.LimitOptions{Concurrency: 4, MaxAttempts: 50, BaseDelay: 5 * time.Millisecond,
					MaxDelay: 20 * time.Millisecond, CooldownAfter: -1, Seed: 1})}
			sum, err := Run(context.Background(), opt)
			if c.live == 0 {
				if !errors.Is(err, ErrGaveUp) || sum.Complete || sum.Done != 0 {
					t.Fatalf("all endpoints dead: err %v, summary %+v", err, sum)
				}
				return
			}
			if err != nil || !sum.Complete || sum.Fetched != 12 {
				t.Fatalf("one live endpoint: err %v, summary %+v", err, sum)
			}
			total, byBody := models[0].counts()
			if total != 12 || len(byBody) != 12 {
				t.Fatalf("the live endpoint saw %d requests (%d distinct), want 12 once each", total, len(byBody))
			}
			if len(sum.Endpoints) != 3 || sum.Endpoints[2].Done != 12 || sum.Endpoints[0].Failed == 0 {
				t.Fatalf("summary endpoints %+v", sum.Endpoints)
			}
		})
	}
}
