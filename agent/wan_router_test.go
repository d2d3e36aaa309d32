package agent

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func server(name, dc string, status int) Member {
	return Member{Name: name + "." + dc, Addr: "127.0.0.1", Status: status,
		Tags: map[string]string{"role": "consul", "dc": dc, "port": "8300"}}
}

func TestRankDatacentersSelfFirstThenNearest(t *testing.T) {
	members := []Member{
		server("a", "dc1", StatusAlive),
		server("b", "far", StatusAlive), server("c", "near", StatusAlive),
		server("d", "unmeasured", StatusAlive),
		server("e", "dead", StatusFailed),
		server("f", "gone", StatusLeft),
		server("g", "pingfail", StatusAlive),
	}
	stats := map[string]*serverStat{
		"b.far":      {rtt: 80 * time.Millisecond, measured: true, ok: true, pinged: true},
		"c.near":     {rtt: 2 * time.Millisecond, measured: true, ok: true, pinged: true},
		"g.pingfail": {rtt: time.Millisecond, measured: true, ok: false, pinged: true},
	}
	got := rankDatacenters("dc1", buildViews(members, stats))
	want := []string{"dc1", "near", "far", "unmeasured", "dead", "pingfail"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func TestForwardOrderSkipsFailedServers(t *testing.T) {
	members := []Member{
		server("s1", "dc2", StatusAlive), server("s2", "dc2", StatusAlive),
		server("s3", "dc2", StatusFailed), server("s4", "dc2", StatusAlive),
	}
	stats := map[string]*serverStat{
		"s1.dc2": {rtt: 9 * time.Millisecond, measured: true, ok: true, pinged: true},
		"s2.dc2": {rtt: 3 * time.Millisecond, measured: true, ok: true, pinged: true},
		"s4.dc2": {pinged: true, ok: false},
	}
	v := buildViews(members, stats)["dc2"]
	var names []string
	for _, s := range v.forwardOrder() {
		names = append(names, s.Name)
	}
	if !reflect.DeepEqual(names, []string{"s2.dc2", "s1.dc2"}) {
		t.Fatalf("forward order %v", names)
	}
	if !v.reachable() || v.rtt() != 3*time.Millisecond {
		t.Fatalf("reachable=%v rtt=%v", v.reachable(), v.rtt())
	}
}

func TestRouterSmoothsRTTAndMarksFailures(t *testing.T) {
	r := newWANRouter("dc1", nil, nil, nil)
	r.record("x", 10*time.Millisecond, nil)
	r.record("x", 20*time.Millisecond, nil)
	st := *r.stats["x"]
	if st.rtt != 13*time.Millisecond || !st.ok {
		t.Fatalf("smoothed rtt %v ok=%v, want 13ms", st.rtt, st.ok)
	}
	r.record("x", 0, errors.New("connection refused"))
	if st := r.stats["x"]; st.ok || st.lastErr == "" || st.rtt != 13*time.Millisecond {
		t.Fatalf("after a failure: %+v", *st)
	}
}
