package history

import (
	"math"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

func rd(key, v string, call, ret int64) porcupine.Operation {
	return porcupine.Operation{Input: Input{Kind: Read, Key: key}, Output: Output{Value: v}, Call: call, Return: ret}
}

func cas(key, expect, v string, ok bool, call, ret int64) porcupine.Operation {
	return porcupine.Operation{Input: Input{Kind: CAS, Key: key, Expect: expect, Value: v}, Output: Output{OK: ok}, Call: call, Return: ret}
}

func casUnknown(key, expect, v string, call int64) porcupine.Operation {
	return porcupine.Operation{Input: Input{Kind: CAS, Key: key, Expect: expect, Value: v}, Output: Output{Unknown: true}, Call: call, Return: math.MaxInt64}
}

func TestModelAcceptsAndRejects(t *testing.T) {
	cases := []struct {
		name string
		ops  []porcupine.Operation
		want porcupine.CheckResult
	}{
		{"write then read", []porcupine.Operation{cas("k", "", "a", true, 0, 1), rd("k", "a", 2, 3)}, porcupine.Ok},
		{"stale read after an acknowledged write", []porcupine.Operation{cas("k", "", "a", true, 0, 1), rd("k", "", 2, 3)}, porcupine.Illegal},
		{"concurrent read may see either", []porcupine.Operation{cas("k", "", "a", true, 0, 10), rd("k", "", 1, 2), rd("k", "a", 3, 4)}, porcupine.Ok},
		{"values cannot go back", []porcupine.Operation{cas("k", "", "a", true, 0, 10), rd("k", "a", 1, 2), rd("k", "", 3, 4)}, porcupine.Illegal},
		{"refused CAS although the value matched", []porcupine.Operation{cas("k", "", "a", true, 0, 1), cas("k", "a", "b", false, 2, 3)}, porcupine.Illegal},
		{"refused CAS after a competing write", []porcupine.Operation{cas("k", "", "a", true, 0, 1), cas("k", "", "b", false, 2, 3)}, porcupine.Ok},
		{"two CAS from the same value both applied", []porcupine.Operation{cas("k", "", "a", true, 0, 5), cas("k", "", "b", true, 0, 5)}, porcupine.Illegal},
		{"unknown CAS that took effect", []porcupine.Operation{casUnknown("k", "", "a", 0), rd("k", "", 1, 2), rd("k", "a", 3, 4)}, porcupine.Ok},
		{"unknown CAS that never did", []porcupine.Operation{casUnknown("k", "", "a", 0), rd("k", "", 1, 2), rd("k", "", 3, 4)}, porcupine.Ok},
		{"unknown CAS cannot undo itself", []porcupine.Operation{casUnknown("k", "", "a", 0), rd("k", "a", 1, 2), rd("k", "", 3, 4)}, porcupine.Illegal},
		{"unknown CAS cannot act before it was sent", []porcupine.Operation{rd("k", "a", 0, 1), casUnknown("k", "", "a", 2)}, porcupine.Illegal},
		{"keys are independent", []porcupine.Operation{cas("k", "", "a", true, 0, 1), rd("j", "", 2, 3), rd("k", "a", 2, 3)}, porcupine.Ok},
	}
	for _, c := range cases {
		res, err := Check(c.ops, 10*time.Second, "")
		if err != nil {
			t.Fatal(err)
		}
		if res != c.want {
			t.Errorf("%s: got %s, want %s", c.name, res, c.want)
		}
	}
}

func TestRecorderCountsAndChecks(t *testing.T) {
	r := NewRecorder()
	c := r.Now()
	r.CASDone(0, "k", "", "a", true, c)
	r.ReadDone(1, "k", "a", r.Now())
	r.CASDone(0, "k", "", "b", false, r.Now())
	r.CASUnknown(2, "k", "a", "c", r.Now())
	ops, st := r.Operations()
	if st != (Stats{Reads: 1, CASOK: 1, CASFailed: 1, CASUnknown: 1}) {
		t.Fatalf("stats %+v", st)
	}
	if res, _ := Check(ops, 10*time.Second, ""); res != porcupine.Ok {
		t.Fatalf("recorded history: %s", res)
	}
}
