package harness

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Net is a test network for partitions: one network namespace per host,
// each joined by a veth pair to a bridge in the test's own namespace, all
// in one /24 that only this test uses. The test process reaches every host
// through the bridge; hosts reach each other through it until a partition
// puts blackhole routes in their namespaces. Blackhole routes drop packets
// silently at the sender, so a cut-off peer looks like a dead link (timeouts),
// not like a refused connection.
//
// Names carry the test process's PID, so a run killed before its clean-up
// leaves resources that the next run recognises as stale and removes.
type Net struct {
	t      testing.TB
	prefix string // "10.231.N."
	bridge string
	tag    string // "swy<pid>"

	mu      sync.Mutex
	hosts   []*netHost
	dropped map[[2]string]bool // (from ns, to IP) pairs with a blackhole route
}

type netHost struct {
	name, ns, ip, veth string
}

const netNamePrefix = "swy"

// NewNet creates the bridge and returns the network, or an error saying in
// plain words why partitions are unavailable here (not root, no iproute2,
// no netns support). Everything it creates is removed at test clean-up,
// also when the test failed.
func NewNet(t testing.TB) (*Net, error) {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("network namespaces need root; running as uid %d", os.Geteuid())
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("the ip command (iproute2) is not installed")
	}
	removeStaleNets()
	pid := os.Getpid()
	n := &Net{
		t:       t,
		tag:     netNamePrefix + strconv.Itoa(pid),
		prefix:  fmt.Sprintf("10.231.%d.", pid%250+1),
		dropped: map[[2]string]bool{},
	}
	n.bridge = n.tag + "br"
	if len(n.bridge) > 15 { // interface names are at most 15 bytes
		return nil, fmt.Errorf("pid %d too long for interface names", pid)
	}
	if err := runAll([][]string{
		{"ip", "link", "add", n.bridge, "type", "bridge"},
		{"ip", "addr", "add", n.prefix + "1/24", "dev", n.bridge},
		{"ip", "link", "set", n.bridge, "up"},
	}); err != nil {
		_ = run("ip", "link", "del", n.bridge)
		return nil, fmt.Errorf("cannot create a bridge for the test network: %v", err)
	}
	t.Cleanup(n.destroy)
	return n, nil
}

// AddHost creates a namespace for name joined to the bridge and returns
// the namespace and the host's address.
func (n *Net) AddHost(name string) (ns, ip string, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	i := len(n.hosts) + 1
	h := &netHost{
		name: name,
		ns:   fmt.Sprintf("%s-%d", n.tag, i),
		ip:   n.prefix + strconv.Itoa(10+i),
		veth: fmt.Sprintf("%sv%d", n.tag, i),
	}
	peer := h.veth + "p"
	if len(peer) > 15 {
		return "", "", fmt.Errorf("interface name %q too long", peer)
	}
	err = runAll([][]string{
		{"ip", "netns", "add", h.ns},
		{"ip", "link", "add", h.veth, "type", "veth", "peer", "name", peer},
		{"ip", "link", "set", h.veth, "master", n.bridge, "up"},
		{"ip", "link", "set", peer, "netns", h.ns},
		{"ip", "-n", h.ns, "link", "set", "lo", "up"},
		{"ip", "-n", h.ns, "link", "set", peer, "name", "eth0"},
		{"ip", "-n", h.ns, "addr", "add", h.ip + "/24", "dev", "eth0"},
		{"ip", "-n", h.ns, "link", "set", "eth0", "up"},
	})
	if err != nil {
		_ = run("ip", "netns", "del", h.ns)
		_ = run("ip", "link", "del", h.veth)
		return "", "", err
	}
	n.hosts = append(n.hosts, h)
	return h.ns, h.ip, nil
}

func (n *Net) host(name string) *netHost {
	for _, h := range n.hosts {
		if h.name == name {
			return h
		}
	}
	n.t.Fatalf("test network has no host %q", name)
	return nil
}

// Isolate cuts name off from every other host in both directions. The
// test process can still reach it, as a client on another link could.
func (n *Net) Isolate(name string) {
	var others []string
	n.mu.Lock()
	for _, h := range n.hosts {
		if h.name != name {
			others = append(others, h.name)
		}
	}
	n.mu.Unlock()
	n.Split([]string{name}, others)
}

// Split cuts every link between group a and group b, both directions.
func (n *Net) Split(a, b []string) {
	for _, x := range a {
		for _, y := range b {
			n.DropOneWay(x, y)
			n.DropOneWay(y, x)
		}
	}
}

// DropOneWay drops every packet from host from to host to; packets the
// other way still arrive (so TCP handshakes from to fail half-way).
func (n *Net) DropOneWay(from, to string) {
	n.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	f, d := n.host(from), n.host(to)
	key := [2]string{f.ns, d.ip}
	if n.dropped[key] {
		return
	}
	if err := run("ip", "-n", f.ns, "route", "add", "blackhole", d.ip+"/32"); err != nil {
		n.t.Fatalf("partition %s -> %s: %v", from, to, err)
	}
	n.dropped[key] = true
}

// Heal removes every partition.
func (n *Net) Heal() {
	n.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	for key := range n.dropped {
		if err := run("ip", "-n", key[0], "route", "del", "blackhole", key[1]+"/32"); err != nil {
			n.t.Errorf("heal %s -> %s: %v", key[0], key[1], err)
		}
		delete(n.dropped, key)
	}
}

// Partitioned reports whether any partition is in place.
func (n *Net) Partitioned() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.dropped) > 0
}

func (n *Net) destroy() {
	n.mu.Lock()
	defer n.mu.Unlock()
	// Deleting a namespace deletes the veth end inside it, and with it
	// the pair; the host ends are deleted too in case a namespace was
	// never created.
	for _, h := range n.hosts {
		_ = run("ip", "netns", "del", h.ns)
		_ = run("ip", "link", "del", h.veth)
	}
	_ = run("ip", "link", "del", n.bridge)
	n.hosts = nil
}

// removeStaleNets deletes namespaces and links whose names carry the PID of
// a process that no longer exists: leftovers of a killed test run.
func removeStaleNets() {
	stale := func(name string) bool {
		if !strings.HasPrefix(name, netNamePrefix) {
			return false
		}
		rest := strings.TrimLeft(name[len(netNamePrefix):], "0123456789")
		pid, err := strconv.Atoi(name[len(netNamePrefix) : len(name)-len(rest)])
		if err != nil {
			return false
		}
		return syscall.Kill(pid, 0) == syscall.ESRCH
	}
	if out, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 0 && stale(f[0]) {
				_ = run("ip", "netns", "del", f[0])
			}
		}
	}
	if out, err := exec.Command("ip", "-o", "link", "show").Output(); err == nil {
		var links []string
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			name := strings.TrimSuffix(f[1], ":")
			if i := strings.IndexByte(name, '@'); i >= 0 {
				name = name[:i]
			}
			if stale(name) {
				links = append(links, name)
			}
		}
		for _, l := range links {
			_ = run("ip", "link", "del", l)
		}
	}
}

func runAll(cmds [][]string) error {
	for _, c := range cmds {
		if err := run(c[0], c[1:]...); err != nil {
			return err
		}
	}
	return nil
}

func run(name string, args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
