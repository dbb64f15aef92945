package experiment

import (
	"context"
	"fmt"
)

// stageFunc does one stage's work; c is nil for the stages shared by all
// configurations, dir is where the stage writes.
type stageFunc func(ctx context.Context, c *Configuration, dir string) error

// funcs returns the work of every stage.
func (r *Runner) funcs() map[string]stageFunc {
	return map[string]stageFunc{
		StageData:     func(ctx context.Context, _ *Configuration, _ string) error { return r.stageData(ctx) },
		StageGenerate: r.stageGenerate,
		StageCurate:   r.stageCurate,
		StageMeasure:  r.stageMeasure,
		StageTrain:    r.stageTrain,
		StageJudge:    r.stageJudge,
		StageReport:   r.stageReport,
	}
}

// exec runs one stage's work.
func (r *Runner) exec(ctx context.Context, st string, c *Configuration, dir string) error {
	f, ok := r.stage[st]
	if !ok {
		return fmt.Errorf("stage %s is not available", st)
	}
	return f(ctx, c, dir)
}
