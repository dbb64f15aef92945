// Package progress defines the interface through which ggmi's library
// packages report the progress of long jobs (a sweep of the GMM lab, a
// generation run, a training run). It implements no part of the papers:
// library code never draws on a terminal, it calls a Reporter, and the
// command line (or any other client) decides how to show it.
package progress
