package agent

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/catalog"
)

// Unit tests of the local state's bookkeeping: what a sync pass sends, and
// when entries count as synced. The HTTP and catalog side is covered by the
// agent_test package.

func testService(id string, tags ...string) *catalog.NodeService {
	return &catalog.NodeService{ID: id, Service: id, Tags: append([]string{}, tags...), Weights: &catalog.Weights{Passing: 1, Warning: 1}}
}

func testCheck(id, serviceID string) *catalog.HealthCheck {
	return &catalog.HealthCheck{Node: "n1", CheckID: id, Name: id, Status: catalog.HealthCritical, ServiceID: serviceID, ServiceTags: []string{}, Type: "ttl"}
}

// describe renders ops as "register <service> [checks]", "register check
// <id>", "deregister service <id>" or "deregister check <id>".
func describe(ops []localOp) []string {
	out := []string{}
	for _, op := range ops {
		switch {
		case op.deregister != nil && op.deregister.ServiceID != "":
			out = append(out, "deregister service "+op.deregister.ServiceID)
		case op.deregister != nil:
			out = append(out, "deregister check "+op.deregister.CheckID)
		case op.register.Service != nil:
			var ids []string
			for _, c := range op.register.Checks {
				ids = append(ids, c.CheckID)
			}
			out = append(out, "register "+op.register.Service.ID+" "+strings.Join(ids, ","))
		default:
			out = append(out, "register check "+op.register.Checks[0].CheckID)
		}
	}
	return out
}

// syncAll confirms every pending op as if each write succeeded.
func syncAll(l *localState) {
	for _, op := range l.pendingOps() {
		l.confirm(op)
	}
}

func expectOps(t *testing.T, l *localState, want ...string) []localOp {
	t.Helper()
	ops := l.pendingOps()
	if got := describe(ops); !reflect.DeepEqual(got, append([]string{}, want...)) {
		t.Fatalf("pending ops = %q, want %q", got, want)
	}
	return ops
}

func TestLocalStateSendsServicesWithTheirChecks(t *testing.T) {
	var l localState
	l.addService(testService("web", "v1"), []localCheckSpec{{check: testCheck("c1", "web")}, {check: testCheck("c2", "web")}}, false)
	if err := l.addCheck(testCheck("node-check", ""), 0); err != nil {
		t.Fatal(err)
	}
	ops := expectOps(t, &l, "register web c1,c2", "register check node-check")
	if tags := ops[0].register.Checks[0].ServiceTags; !reflect.DeepEqual(tags, []string{"v1"}) || ops[0].register.Checks[0].ServiceName != "web" {
		t.Fatalf("service check sent without the service's name and tags: %+v", ops[0].register.Checks[0])
	}
	syncAll(&l)
	expectOps(t, &l)

	// A check of a synced service goes alone.
	if err := l.updateTTL("c1", catalog.HealthPassing, "ok"); !errors.Is(err, errNotTTLCheck) {
		t.Fatalf("update of a check without TTL: %v", err)
	}
	l.addService(testService("web", "v1"), []localCheckSpec{{check: testCheck("c1", "web"), ttl: time.Hour}}, false)
	syncAll(&l)
	if err := l.updateTTL("c1", catalog.HealthPassing, "ok"); err != nil {
		t.Fatal(err)
	}
	expectOps(t, &l, "register check c1")
	if err := l.updateTTL("missing", catalog.HealthPassing, ""); !errors.Is(err, errUnknownLocalCheck) {
		t.Fatalf("update of a missing check: %v", err)
	}
	if err := l.addCheck(testCheck("orphan", "nope"), 0); !errors.Is(err, errUnknownLocalService) {
		t.Fatalf("check of a missing service: %v", err)
	}
	l.stop()
}

func TestLocalStateChangeDuringWriteStaysPending(t *testing.T) {
	var l localState
	l.addService(testService("web"), nil, false)
	ops := l.pendingOps()
	// The service changes while its write is in flight: the write's
	// success must not mark the newer version synced.
	l.addService(testService("web", "v2"), nil, false)
	l.confirm(ops[0])
	ops = expectOps(t, &l, "register web ")
	if !reflect.DeepEqual(ops[0].register.Service.Tags, []string{"v2"}) {
		t.Fatalf("pending write carries %v, want the newer tags", ops[0].register.Service.Tags)
	}
}

func TestLocalStateRemovalsUseTombstones(t *testing.T) {
	var l localState
	l.addService(testService("web"), []localCheckSpec{{check: testCheck("c1", "web")}}, false)
	l.addService(testService("api"), []localCheckSpec{{check: testCheck("a1", "api")}, {check: testCheck("a2", "api")}}, false)
	syncAll(&l)

	if !l.removeService("web") || l.removeService("web") {
		t.Fatal("removeService should succeed once")
	}
	// Re-registering api without a2, replacing checks, removes a2.
	l.addService(testService("api"), []localCheckSpec{{check: testCheck("a1", "api")}}, true)
	// The service's deregistration takes its check along: no separate op.
	expectOps(t, &l, "deregister service web", "deregister check a2", "register api a1")
	if _, ok := l.checkList()["a2"]; ok {
		t.Fatal("a removed check is still listed")
	}
	syncAll(&l)
	expectOps(t, &l)
	if len(l.services) != 1 || len(l.checks) != 1 {
		t.Fatalf("tombstones left after the deregistrations: %d services, %d checks", len(l.services), len(l.checks))
	}
	if l.removeCheck("a2") || !l.removeCheck("a1") {
		t.Fatal("removeCheck should fail for a removed check and succeed for a live one")
	}
}

func TestLocalStateDiffCatalog(t *testing.T) {
	var l localState
	l.addService(testService("web"), []localCheckSpec{{check: testCheck("c1", "web")}}, false)
	l.addService(testService("api"), nil, false)
	syncAll(&l)

	stored := func(s *catalog.NodeService) *catalog.NodeService {
		cp := *s
		cp.RaftIndex = catalog.RaftIndex{CreateIndex: 5, ModifyIndex: 7}
		return &cp
	}
	changedAPI := stored(testService("api"))
	changedAPI.Port = 9999
	storedCheck := *testCheck("c1", "web")
	storedCheck.ServiceName, storedCheck.ModifyIndex = "web", 9
	l.diffCatalog(map[string]*catalog.NodeService{
		"web":    stored(testService("web")), // equal but for Raft indexes
		"api":    changedAPI,                 // changed behind the agent's back
		"stray":  stored(testService("stray")),
		"consul": stored(testService("consul")),
	}, []*catalog.HealthCheck{
		&storedCheck,
		{Node: "n1", CheckID: "serfHealth", Status: catalog.HealthPassing},
		{Node: "n1", CheckID: "stray-check", ServiceID: "stray"},
		{Node: "n1", CheckID: "old-node-check"},
	})
	expectOps(t, &l, "deregister service stray", "deregister check old-node-check", "register api ")
	syncAll(&l)
	if _, ok := l.services["stray"]; ok {
		t.Fatal("the stray tombstone outlived its deregistration")
	}

	// Rows that disappeared from the catalog are written again.
	l.diffCatalog(map[string]*catalog.NodeService{"api": stored(testService("api"))}, nil)
	expectOps(t, &l, "register web c1")
}

func TestLocalStateTTLExpiry(t *testing.T) {
	var l localState
	defer l.stop()
	requests := l.syncRequests()
	if err := l.addCheck(testCheck("hb", ""), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := l.updateTTL("hb", catalog.HealthPassing, strings.Repeat("x", defaultOutputMaxSize+1)); err != nil {
		t.Fatal(err)
	}
	lc := l.checks["hb"]
	if want := strings.Repeat("x", defaultOutputMaxSize) + " ... (captured 4096 of 4097 bytes)"; lc.check.Output != want {
		t.Fatalf("output not truncated: %d bytes", len(lc.check.Output))
	}
	syncAll(&l)

	// A timer from before the last update is stale and changes nothing.
	l.expire(lc, lc.timerGen-1)
	if lc.check.Status != catalog.HealthPassing {
		t.Fatalf("a stale timer expired the check: %+v", lc.check)
	}
	// The current timer firing turns the check critical and asks for a
	// sync, as nothing else will.
	l.expire(lc, lc.timerGen)
	if lc.check.Status != catalog.HealthCritical || !strings.HasPrefix(lc.check.Output, "TTL expired (last output before timeout follows): xxx") {
		t.Fatalf("after expiry: %+v", lc.check)
	}
	select {
	case <-requests:
	default:
		t.Fatal("expiry did not request a sync pass")
	}
	expectOps(t, &l, "register check hb")

	l.stop()
	if lc.timer != nil {
		t.Fatal("stop left a TTL timer running")
	}
	if err := l.updateTTL("hb", catalog.HealthPassing, ""); err != nil || lc.timer != nil {
		t.Fatalf("after stop, an update re-armed the timer (%v)", err)
	}
}
