// Package scenariotests runs Switchyard as real processes: it builds the
// binary once, starts clusters of servers on loopback with free ports, and
// injects faults (SIGKILL, SIGSTOP/SIGCONT, restart with the same data dir).
// Scenarios record the writes they had acknowledged and check afterwards
// that every one survived. On failure each server's log and data dir are
// kept and their location printed.
package scenariotests
