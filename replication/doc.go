// Package replication copies config entries from the primary datacenter
// into a secondary one.
//
// Config entries are authoritative in the primary; a secondary receives
// them only through this package. The work splits in two, as the project's
// conventions ask:
//
//   - plan.go is pure: Diff compares the primary's answer with the local
//     copy by kind and name, with configentry.Equal, and Batches cuts the
//     result into Raft-sized pieces. The answer is a full list or a delta
//     (the entries changed since the last round plus, when keys were
//     deleted, the primary's key set); either way an entry that did not
//     change is never in a plan, so it is never rewritten and its local
//     ModifyIndex stays. A delta that does not fit the local copy makes a
//     Resync plan, and the next round asks for a full list.
//     exported-services entries are never replicated (they are
//     primary-only) and never deleted locally.
//   - replicator.go is the I/O loop: a blocking request to the primary for
//     what changed since the last round (Fetch), the local copy (Local),
//     and Apply of each batch through local Raft, rate limited. The loop
//     resumes from the remote index recorded by the last completed round,
//     which the caller keeps in Raft next to the entries so both move
//     together.
//
// wire.go defines the versioned list format exchanged between datacenters
// (version 1: full lists; version 2: deltas) and EncodeList, which the
// primary's endpoint calls to answer.
//
// Concurrency: a Replicator runs on the secondary's leader only, in one
// goroutine owned by whoever calls Run (the agent's leader session); Run
// returns when its context is cancelled. Status may be called from any
// goroutine.
package replication
