// Package readmetest holds the test that runs the README's shell blocks, so
// that the README cannot drift from the program. It implements no part of
// the papers.
//
// Every ```sh block of README.md runs with bash -e from the repository's
// root, with a freshly built ggmi first on the PATH. A block preceded by
// `<!-- readme-test: skip (why) -->` never runs (it needs an API key, a GPU,
// …); one preceded by `<!-- readme-test: long -->` runs only with
// GGMI_README_LONG=1. New sections' blocks are picked up automatically.
package readmetest
