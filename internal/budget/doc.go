// Package budget estimates and bounds the memory a command will use: it
// reads the machine's available memory, parses and prints sizes, and turns
// an estimate over the limit into one sentence naming the flag to change.
// It implements no part of the papers.
package budget
