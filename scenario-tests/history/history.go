// Package history records what scenario clients did to a set of registers
// (config entries read with ?consistent and written with ?cas) and checks
// the record for linearizability with porcupine.
//
// The model: every key is a register holding a string ("" while the entry
// does not exist). Clients write unique values, so a ModifyIndex read
// together with a value stands for that value: a CAS on the index is a CAS
// on the value read with it, and cas=0 (create only) expects "". A CAS whose
// outcome the client never learnt (timeout, 5xx, broken connection) may or
// may not have taken effect at any point after it was sent; porcupine is
// given both possibilities.
package history

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// OpKind is what a client did.
type OpKind uint8

const (
	Read OpKind = iota
	CAS
)

// Input is an operation as the client issued it.
type Input struct {
	Kind   OpKind
	Key    string
	Expect string // CAS: the value the client last read
	Value  string // CAS: the value it writes
}

// Output is what the client learnt.
type Output struct {
	Value   string // Read: the value seen
	OK      bool   // CAS: applied
	Unknown bool   // CAS: the client does not know
}

// Recorder collects operations from concurrent clients.
type Recorder struct {
	start time.Time

	mu  sync.Mutex
	ops []porcupine.Operation
}

// NewRecorder starts the history's clock.
func NewRecorder() *Recorder { return &Recorder{start: time.Now()} }

// Now is the history's clock: monotonic nanoseconds since the start. Take
// it right before sending a request, and again right after the answer.
func (r *Recorder) Now() int64 { return int64(time.Since(r.start)) }

func (r *Recorder) add(client int, in Input, out Output, call, ret int64) {
	r.mu.Lock()
	r.ops = append(r.ops, porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret})
	r.mu.Unlock()
}

// ReadDone records a successful read of key that saw value ("" when the
// entry did not exist). Failed reads are not recorded: they observed
// nothing.
func (r *Recorder) ReadDone(client int, key, value string, call int64) {
	r.add(client, Input{Kind: Read, Key: key}, Output{Value: value}, call, r.Now())
}

// CASDone records a CAS whose outcome the client learnt.
func (r *Recorder) CASDone(client int, key, expect, value string, ok bool, call int64) {
	r.add(client, Input{Kind: CAS, Key: key, Expect: expect, Value: value}, Output{OK: ok}, call, r.Now())
}

// CASUnknown records a CAS whose outcome the client did not learn. It
// never returns: it may take effect at any time after call.
func (r *Recorder) CASUnknown(client int, key, expect, value string, call int64) {
	r.add(client, Input{Kind: CAS, Key: key, Expect: expect, Value: value}, Output{Unknown: true}, call, math.MaxInt64)
}

// Stats counts the recorded operations by outcome.
type Stats struct {
	Reads, CASOK, CASFailed, CASUnknown int
}

func (s Stats) String() string {
	return fmt.Sprintf("%d consistent reads, %d CAS writes applied, %d refused (index moved), %d with unknown outcome",
		s.Reads, s.CASOK, s.CASFailed, s.CASUnknown)
}

// Operations returns a copy of the history and its counts.
func (r *Recorder) Operations() ([]porcupine.Operation, Stats) {
	r.mu.Lock()
	ops := append([]porcupine.Operation(nil), r.ops...)
	r.mu.Unlock()
	var st Stats
	for _, op := range ops {
		in, out := op.Input.(Input), op.Output.(Output)
		switch {
		case in.Kind == Read:
			st.Reads++
		case out.Unknown:
			st.CASUnknown++
		case out.OK:
			st.CASOK++
		default:
			st.CASFailed++
		}
	}
	return ops, st
}

// Model is the register model, partitioned by key.
func Model() porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Partition: partitionByKey,
		Init:      func() []interface{} { return []interface{}{""} },
		Step: func(state, input, output interface{}) []interface{} {
			st, in, out := state.(string), input.(Input), output.(Output)
			switch {
			case in.Kind == Read:
				if out.Value == st {
					return []interface{}{st}
				}
				return nil
			case out.Unknown:
				if st == in.Expect {
					return []interface{}{in.Value, st}
				}
				return []interface{}{st}
			case out.OK:
				if st == in.Expect {
					return []interface{}{in.Value}
				}
				return nil
			default:
				if st != in.Expect {
					return []interface{}{st}
				}
				return nil
			}
		},
		DescribeOperation: describe,
		DescribeState:     func(s interface{}) string { return fmt.Sprintf("%q", s) },
	}
	return nm.ToModel()
}

func partitionByKey(ops []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[string][]porcupine.Operation{}
	for _, op := range ops {
		k := op.Input.(Input).Key
		byKey[k] = append(byKey[k], op)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][]porcupine.Operation, 0, len(keys))
	for _, k := range keys {
		out = append(out, byKey[k])
	}
	return out
}

func describe(input, output interface{}) string {
	in, out := input.(Input), output.(Output)
	if in.Kind == Read {
		return fmt.Sprintf("read(%s) -> %q", in.Key, out.Value)
	}
	res := fmt.Sprint(out.OK)
	if out.Unknown {
		res = "?"
	}
	return fmt.Sprintf("cas(%s, %q -> %q) -> %s", in.Key, in.Expect, in.Value, res)
}

// Check reports whether ops are linearizable. When they are not, or the
// check ran out of time, and vizPath is not empty, it writes porcupine's
// HTML visualisation there.
func Check(ops []porcupine.Operation, timeout time.Duration, vizPath string) (porcupine.CheckResult, error) {
	model := Model()
	res, info := porcupine.CheckOperationsVerbose(model, ops, timeout)
	if res != porcupine.Ok && vizPath != "" {
		if err := porcupine.VisualizePath(model, info, vizPath); err != nil {
			return res, fmt.Errorf("writing the visualisation: %v", err)
		}
	}
	return res, nil
}
