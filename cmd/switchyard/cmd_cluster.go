package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
)

// memberJSON is the part of /v1/agent/members the CLI prints.
type memberJSON struct {
	Name   string
	Addr   string
	Port   int
	Tags   map[string]string
	Status int
}

var memberStatus = map[int]string{0: "none", 1: "alive", 2: "leaving", 3: "left", 4: "failed"}

// runMembers: switchyard members [-wan]
func runMembers(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("members", stderr)
	addr := clientFlags(fs)
	wan := fs.Bool("wan", false, "list the WAN pool (servers of every datacenter)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return 1
	}
	q := url.Values{}
	if *wan {
		q.Set("wan", "1")
	}
	var members []memberJSON
	if err := newAPIClient(*addr).getJSON("/v1/agent/members", q, &members); err != nil {
		fmt.Fprintln(stderr, "Error retrieving members:", err)
		return 1
	}
	sort.Slice(members, func(i, j int) bool { return members[i].Name < members[j].Name })
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Node\tAddress\tStatus\tType\tBuild\tProtocol\tDC")
	for _, m := range members {
		typ := "client"
		if m.Tags["role"] == "consul" {
			typ = "server"
		}
		fmt.Fprintf(tw, "%s\t%s:%d\t%s\t%s\t%s\t%s\t%s\n", m.Name, m.Addr, m.Port, memberStatus[m.Status], typ,
			m.Tags["build"], m.Tags["vsn"], m.Tags["dc"])
	}
	tw.Flush()
	return 0
}

// runLeave: switchyard leave — asks the agent to leave gracefully and exit.
func runLeave(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("leave", stderr)
	addr := clientFlags(fs)
	if _, err := parseInterspersed(fs, args); err != nil {
		return 1
	}
	if _, err := newAPIClient(*addr).do(http.MethodPut, "/v1/agent/leave", nil, nil); err != nil {
		fmt.Fprintln(stderr, "Error leaving:", err)
		return 1
	}
	fmt.Fprintln(stdout, "Graceful leave complete")
	return 0
}

func runCatalog(args []string, stdout, stderr io.Writer) int {
	return subcommands("catalog", map[string]command{
		"services":    {"List services in the catalog", runCatalogServices},
		"nodes":       {"List nodes in the catalog", runCatalogNodes},
		"datacenters": {"List known datacenters, nearest first", runCatalogDatacenters},
	}, args, stdout, stderr)
}

// runCatalogServices: switchyard catalog services [-tags]
func runCatalogServices(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("catalog services", stderr)
	addr := clientFlags(fs)
	tags := fs.Bool("tags", false, "show each service's tags")
	if _, err := parseInterspersed(fs, args); err != nil {
		return 1
	}
	var services map[string][]string
	if err := newAPIClient(*addr).getJSON("/v1/catalog/services", nil, &services); err != nil {
		fmt.Fprintln(stderr, "Error listing services:", err)
		return 1
	}
	names := make([]string, 0, len(services))
	for n := range services {
		names = append(names, n)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, n := range names {
		if *tags {
			t := append([]string(nil), services[n]...)
			sort.Strings(t)
			fmt.Fprintf(tw, "%s\t%s\n", n, strings.Join(t, ","))
		} else {
			fmt.Fprintln(tw, n)
		}
	}
	tw.Flush()
	return 0
}

// runCatalogNodes: switchyard catalog nodes
func runCatalogNodes(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("catalog nodes", stderr)
	addr := clientFlags(fs)
	if _, err := parseInterspersed(fs, args); err != nil {
		return 1
	}
	var nodes []struct{ ID, Node, Address, Datacenter string }
	if err := newAPIClient(*addr).getJSON("/v1/catalog/nodes", nil, &nodes); err != nil {
		fmt.Fprintln(stderr, "Error listing nodes:", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Node\tID\tAddress\tDC")
	for _, n := range nodes {
		id := n.ID
		if len(id) > 8 {
			id = id[:8]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.Node, id, n.Address, n.Datacenter)
	}
	tw.Flush()
	return 0
}

// runCatalogDatacenters: switchyard catalog datacenters
func runCatalogDatacenters(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("catalog datacenters", stderr)
	addr := clientFlags(fs)
	if _, err := parseInterspersed(fs, args); err != nil {
		return 1
	}
	var dcs []string
	if err := newAPIClient(*addr).getJSON("/v1/catalog/datacenters", nil, &dcs); err != nil {
		fmt.Fprintln(stderr, "Error listing datacenters:", err)
		return 1
	}
	for _, dc := range dcs {
		fmt.Fprintln(stdout, dc)
	}
	return 0
}

func runOperator(args []string, stdout, stderr io.Writer) int {
	return subcommands("operator", map[string]command{
		"raft": {"Inspect and change the Raft configuration", func(args []string, stdout, stderr io.Writer) int {
			return subcommands("operator raft", map[string]command{
				"list-peers":  {"List the Raft peers", runRaftListPeers},
				"remove-peer": {"Remove a server from the Raft configuration", runRaftRemovePeer},
			}, args, stdout, stderr)
		}},
		"replication": {"Show config entry replication from the primary datacenter", func(args []string, stdout, stderr io.Writer) int {
			return subcommands("operator replication", map[string]command{
				"status": {"Show this datacenter's replication status", runReplicationStatus},
			}, args, stdout, stderr)
		}},
	}, args, stdout, stderr)
}

// runRaftListPeers: switchyard operator raft list-peers [-stale]
func runRaftListPeers(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("operator raft list-peers", stderr)
	addr := clientFlags(fs)
	stale := fs.Bool("stale", false, "let any server answer, even without a leader")
	if _, err := parseInterspersed(fs, args); err != nil {
		return 1
	}
	q := url.Values{}
	if *stale {
		q.Set("stale", "")
	}
	var cfg struct {
		Servers []struct {
			ID, Node, Address, ProtocolVersion string
			Leader, Voter                      bool
		}
	}
	if err := newAPIClient(*addr).getJSON("/v1/operator/raft/configuration", q, &cfg); err != nil {
		fmt.Fprintln(stderr, "Error getting peers:", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Node\tID\tAddress\tState\tVoter\tRaftProtocol")
	for _, s := range cfg.Servers {
		state := "follower"
		if s.Leader {
			state = "leader"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", s.Node, s.ID, s.Address, state, s.Voter, s.ProtocolVersion)
	}
	tw.Flush()
	return 0
}

// runRaftRemovePeer: switchyard operator raft remove-peer -id ID | -address IP:PORT
func runRaftRemovePeer(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("operator raft remove-peer", stderr)
	addr := clientFlags(fs)
	id := fs.String("id", "", "Raft ID of the server to remove")
	address := fs.String("address", "", "IP:port of the server to remove")
	if _, err := parseInterspersed(fs, args); err != nil {
		return 1
	}
	if (*id == "") == (*address == "") {
		fmt.Fprintln(stderr, "Error: give exactly one of -id or -address")
		return 1
	}
	q := url.Values{}
	what := *id
	if *id != "" {
		q.Set("id", *id)
	} else {
		q.Set("address", *address)
		what = *address
	}
	if _, err := newAPIClient(*addr).do(http.MethodDelete, "/v1/operator/raft/peer", q, nil); err != nil {
		fmt.Fprintln(stderr, "Error removing peer:", err)
		return 1
	}
	fmt.Fprintf(stdout, "Removed peer with %s %q\n", map[bool]string{true: "id", false: "address"}[*id != ""], what)
	return 0
}
