// Command switchyard is the Switchyard server agent and its CLI.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Version is the product version reported by the binary.
const Version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// command is one CLI subcommand (possibly a group with subcommands).
type command struct {
	synopsis string
	run      func(args []string, stdout, stderr io.Writer) int
}

// commands is the top-level dispatch table; groups dispatch again inside.
func commands() map[string]command {
	return map[string]command{
		"version": {"Print the version", func(_ []string, stdout, _ io.Writer) int {
			fmt.Fprintln(stdout, "switchyard", Version)
			return 0
		}},
		"agent":    {"Run a server agent", runAgent},
		"config":   {"Validate, convert, write, read, list and delete config entries", runConfig},
		"chain":    {"Compile discovery chains offline, or read them from the cluster", runChain},
		"members":  {"List gossip pool members", runMembers},
		"catalog":  {"List services, nodes and datacenters", runCatalog},
		"operator": {"Operator tools (Raft peers)", runOperator},
		"leave":    {"Ask the agent to leave the cluster gracefully and exit", runLeave},
		"peering":  {"Generate tokens, establish, list, read and delete cluster peerings", runPeering},
	}
}

// run dispatches to a subcommand and returns the process exit code:
// 0 on success, 1 on any error (bad usage, bad input, refused entry).
func run(args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 {
		usage(stderr, cmds)
		return 1
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout, cmds)
		return 0
	case "-version", "--version":
		args = []string{"version"}
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "switchyard: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return 1
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("Usage: switchyard <command> [args]\n\nCommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-10s %s\n", n, cmds[n].synopsis)
	}
	fmt.Fprint(w, b.String())
}

// subcommands dispatches within a command group such as "config".
func subcommands(group string, subs map[string]command, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		w := stderr
		code := 1
		if len(args) > 0 {
			w, code = stdout, 0
		}
		names := make([]string, 0, len(subs))
		for n := range subs {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(w, "Usage: switchyard %s <subcommand> [args]\n\nSubcommands:\n", group)
		for _, n := range names {
			fmt.Fprintf(w, "  %-10s %s\n", n, subs[n].synopsis)
		}
		return code
	}
	c, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "switchyard %s: unknown subcommand %q\n", group, args[0])
		return 1
	}
	return c.run(args[1:], stdout, stderr)
}
