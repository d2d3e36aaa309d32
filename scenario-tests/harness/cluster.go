package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Cluster is a set of server processes of one datacenter.
type Cluster struct {
	t       testing.TB
	Name    string
	Servers []*Server
	keepDir string
}

// ClusterOptions shape a cluster.
type ClusterOptions struct {
	Datacenter string
	// ExtraArgs are appended to every server's command line.
	ExtraArgs []string
	// ConfigHCL, when set, is written as an agent config file for every server.
	ConfigHCL string
	// Net, when set, puts every server in its own network namespace of
	// that test network (on the default ports), so it can be partitioned.
	Net *Net
}

// NewCluster starts n servers with -bootstrap-expect n that join through
// the first one, and waits for a leader. On test failure the servers' logs
// and data dirs are kept and their location printed; on success removed.
func NewCluster(t testing.TB, n int, opts ClusterOptions) *Cluster {
	t.Helper()
	if opts.Datacenter == "" {
		opts.Datacenter = "dc1"
	}
	dir, err := os.MkdirTemp("", "switchyard-scenario-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, Name: opts.Datacenter, keepDir: dir}
	t.Cleanup(c.cleanup)
	var cfgFile string
	if opts.ConfigHCL != "" {
		cfgFile = filepath.Join(dir, "extra.hcl")
		if err := os.WriteFile(cfgFile, []byte(opts.ConfigHCL), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s-s%d", opts.Datacenter, i+1)
		// A port can be taken between FreePorts and the bind by another
		// test package running in parallel; try again with new ports.
		for attempt := 1; ; attempt++ {
			s := c.newServer(dir, name, n, cfgFile, opts)
			err := s.start(t)
			if err == nil {
				c.Servers = append(c.Servers, s)
				break
			}
			if !errors.Is(err, errPortTaken) || attempt == 3 {
				t.Fatal(err)
			}
			t.Logf("retrying %s with other ports: %v", name, err)
			os.RemoveAll(s.DataDir)
		}
	}
	// The first server started with nobody to join. A restart after a
	// graceful leave must find the cluster again, as every other server's
	// -retry-join lets it, so later starts of the first server join the
	// second.
	if n > 1 {
		first := c.Servers[0]
		first.Args = append(first.Args, "-retry-join", c.Servers[1].LANAddr())
	}
	c.WaitForLeader(30 * time.Second)
	return c
}

// newServer describes server name of an n-server cluster on fresh ports;
// servers after the first join the first one.
func (c *Cluster) newServer(dir, name string, n int, cfgFile string, opts ClusterOptions) *Server {
	s := &Server{Name: name, DataDir: filepath.Join(dir, name), LogPath: filepath.Join(dir, name+".log")}
	if opts.Net != nil {
		// A namespace has its own ports: every server uses the defaults.
		ns, ip, err := opts.Net.AddHost(name)
		if err != nil {
			c.t.Fatalf("namespace for %s: %v", name, err)
		}
		s.Netns, s.Host = ns, ip
		s.Ports = Ports{HTTP: 8500, Server: 8300, SerfLAN: 8301, SerfWAN: 8302, GRPC: 8503}
	} else {
		ports := FreePorts(c.t, 5)
		s.Ports = Ports{HTTP: ports[0], Server: ports[1], SerfLAN: ports[2], SerfWAN: ports[3], GRPC: ports[4]}
	}
	p := s.Ports
	s.Args = []string{"agent", "-server", "-node", name, "-datacenter", opts.Datacenter,
		"-data-dir", s.DataDir, "-bind", s.host(), "-advertise", s.host(), "-client", s.host(),
		"-bootstrap-expect", strconv.Itoa(n),
		"-http-port", strconv.Itoa(p.HTTP), "-server-port", strconv.Itoa(p.Server),
		"-serf-lan-port", strconv.Itoa(p.SerfLAN), "-serf-wan-port", strconv.Itoa(p.SerfWAN),
		"-grpc-port", strconv.Itoa(p.GRPC)}
	if cfgFile != "" {
		s.Args = append(s.Args, "-config-file", cfgFile)
	}
	if len(c.Servers) > 0 {
		s.Args = append(s.Args, "-retry-join", c.Servers[0].LANAddr())
	}
	s.Args = append(s.Args, opts.ExtraArgs...)
	return s
}

func (c *Cluster) cleanup() {
	for _, s := range c.Servers {
		if s.Running() {
			s.Kill(c.t)
		}
	}
	if c.t.Failed() {
		c.t.Logf("scenario failed: logs and data dirs kept in %s", c.keepDir)
		for _, s := range c.Servers {
			c.t.Logf("---- last lines of %s ----\n%s", s.Name, s.LogTail(30))
		}
		return
	}
	os.RemoveAll(c.keepDir)
}

// Running returns the servers whose process is alive.
func (c *Cluster) Running() []*Server {
	var out []*Server
	for _, s := range c.Servers {
		if s.Running() {
			out = append(out, s)
		}
	}
	return out
}

// Leader asks the running servers who leads and returns that server, or nil
// when the running servers do not agree on one.
func (c *Cluster) Leader() *Server {
	var addr string
	for _, s := range c.Running() {
		code, body, _, err := s.Get("/v1/status/leader")
		if err != nil || code != 200 {
			return nil
		}
		var a string
		if json.Unmarshal(body, &a) != nil || a == "" || (addr != "" && a != addr) {
			return nil
		}
		addr = a
	}
	for _, s := range c.Servers {
		if s.RaftAddr() == addr && s.Running() {
			return s
		}
	}
	return nil
}

// WaitForLeader polls until the running servers agree on a running leader.
func (c *Cluster) WaitForLeader(timeout time.Duration) *Server {
	c.t.Helper()
	var l *Server
	Eventually(c.t, timeout, func() error {
		if l = c.Leader(); l == nil {
			return fmt.Errorf("running servers do not agree on a leader")
		}
		return nil
	})
	return l
}

// Followers returns running servers other than the current leader.
func (c *Cluster) Followers() []*Server {
	l := c.Leader()
	var out []*Server
	for _, s := range c.Running() {
		if s != l {
			out = append(out, s)
		}
	}
	return out
}

// Eventually retries f until it returns nil or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
	t.Fatalf("condition not met within %s: %v", timeout, err)
}
