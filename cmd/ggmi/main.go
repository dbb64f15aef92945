// Command ggmi makes synthetic data for LLM post-training measurable. See
// the README for the tour; `ggmi help` lists the commands.
package main

import "os"

func main() {
	hardExit = os.Exit
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
