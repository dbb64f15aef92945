// Package crash turns a Go panic (a bug, never a user's mistake) into an
// error that carries its stack, so that worker goroutines can hand it to
// the command line, which writes the stack to a log file and exits with
// code 70. It implements no part of the papers.
package crash
