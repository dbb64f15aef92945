// Package stats holds the small interval helpers several ggmi packages
// share: the mean of a sample and its 95% Student-t interval. The
// estimators themselves live in measure, sim, train and report; this
// package only keeps one copy of the arithmetic they all use to report a
// mean.
package stats
