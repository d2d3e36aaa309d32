package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// runReplicationStatus: switchyard operator replication status. It prints
// the "Replication" object of /v1/agent/self: only a secondary's leader
// runs the replicator, so ask it for the last success and error; any
// server reports the index its state was replicated to.
func runReplicationStatus(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("operator replication status", stderr)
	addr := clientFlags(fs)
	if _, err := parseInterspersed(fs, args); err != nil {
		return 1
	}
	var self struct {
		Config      struct{ Datacenter string }
		Replication struct {
			Enabled                               bool
			Running                               bool
			PrimaryDatacenter                     string
			ReplicatedIndex                       uint64
			LastSuccess, LastError, LastErrorTime string
			Upserted, Deleted                     uint64
		}
	}
	if err := newAPIClient(*addr).getJSON("/v1/agent/self", nil, &self); err != nil {
		fmt.Fprintln(stderr, "Error reading replication status:", err)
		return 1
	}
	r := self.Replication
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Datacenter:\t%s\n", self.Config.Datacenter)
	fmt.Fprintf(tw, "Primary datacenter:\t%s\n", r.PrimaryDatacenter)
	fmt.Fprintf(tw, "Enabled:\t%v\n", r.Enabled)
	fmt.Fprintf(tw, "Running:\t%v\n", r.Running)
	fmt.Fprintf(tw, "Replicated index:\t%d\n", r.ReplicatedIndex)
	fmt.Fprintf(tw, "Last success:\t%s\n", orDash(r.LastSuccess))
	fmt.Fprintf(tw, "Last error:\t%s\n", orDash(r.LastError))
	fmt.Fprintf(tw, "Last error time:\t%s\n", orDash(r.LastErrorTime))
	fmt.Fprintf(tw, "Entries written:\t%d upserted, %d deleted\n", r.Upserted, r.Deleted)
	tw.Flush()
	if r.Enabled && !r.Running {
		fmt.Fprintln(stdout, "(this server does not lead its datacenter; ask the leader for the last success and error)")
	}
	return 0
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
