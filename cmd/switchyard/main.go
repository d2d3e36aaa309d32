// Command switchyard is the Switchyard server agent and its CLI.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the process exit code:
// 0 success, 1 a user error (bad input, refused entry), 2 bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "switchyard", Version)
		return 0
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "switchyard: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// Version is the product version reported by the binary.
const Version = "0.1.0-dev"

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: switchyard <command> [args]

Commands:
  version      print the version
`)
}
