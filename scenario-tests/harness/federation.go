package harness

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"
)

// WANAddr is the server's WAN gossip address, for -retry-join-wan.
func (s *Server) WANAddr() string { return net.JoinHostPort(s.host(), strconv.Itoa(s.Ports.SerfWAN)) }

// Federation is several datacenters of real processes joined over WAN
// gossip; the first is the primary.
type Federation struct {
	t   testing.TB
	DCs []*Cluster
}

// NewFederation starts one cluster of servers per datacenter name with
// -primary-datacenter set to the first; servers of later datacenters
// -retry-join-wan the primary's first server. It waits until every server
// sees all servers alive in the WAN pool.
func NewFederation(t testing.TB, servers int, dcs ...string) *Federation {
	t.Helper()
	return NewFederationIn(t, nil, servers, dcs...)
}

// NewFederationIn is NewFederation with every server in its own namespace
// of n (nil: on loopback).
func NewFederationIn(t testing.TB, n *Net, servers int, dcs ...string) *Federation {
	t.Helper()
	f := &Federation{t: t}
	var join []string
	for _, dc := range dcs {
		args := []string{"-primary-datacenter", dcs[0]}
		args = append(args, join...)
		c := NewCluster(t, servers, ClusterOptions{Datacenter: dc, ExtraArgs: args, Net: n})
		if join == nil {
			join = []string{"-retry-join-wan", c.Servers[0].WANAddr()}
		}
		f.DCs = append(f.DCs, c)
	}
	f.WaitForWAN(60 * time.Second)
	return f
}

// DC returns the named datacenter's cluster.
func (f *Federation) DC(name string) *Cluster {
	for _, c := range f.DCs {
		if c.Name == name {
			return c
		}
	}
	f.t.Fatalf("no datacenter %q", name)
	return nil
}

// WaitForWAN waits until every running server lists every running server
// as alive in /v1/agent/members?wan=1.
func (f *Federation) WaitForWAN(timeout time.Duration) {
	f.t.Helper()
	Eventually(f.t, timeout, func() error {
		want := 0
		for _, c := range f.DCs {
			want += len(c.Running())
		}
		for _, c := range f.DCs {
			for _, s := range c.Running() {
				code, body, _, err := s.Get("/v1/agent/members?wan=1")
				if err != nil || code != 200 {
					return fmt.Errorf("%s: members: %d %v", s.Name, code, err)
				}
				var ms []struct{ Status int }
				if err := json.Unmarshal(body, &ms); err != nil {
					return err
				}
				alive := 0
				for _, m := range ms {
					if m.Status == 1 {
						alive++
					}
				}
				if alive < want {
					return fmt.Errorf("%s sees %d of %d WAN members alive", s.Name, alive, want)
				}
			}
		}
		return nil
	})
}
