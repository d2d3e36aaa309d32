package agenttest

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchyard/switchyard/agent"
)

// DC describes one datacenter of a federation.
type DC struct {
	Name    string
	Servers int
}

// Federation is several datacenters joined over WAN gossip. The first
// datacenter is the primary.
type Federation struct {
	t   testing.TB
	DCs []*Cluster
	// Names are the datacenter names, in the order given.
	Names []string
}

// NewFederation starts every datacenter (servers of the later ones
// -retry-join-wan the first server of the primary; the other servers of a
// datacenter join the WAN pool through their LAN, as in production) and
// waits until every server sees every other one alive in the WAN pool.
func NewFederation(t testing.TB, dcs []DC, opts ...Option) *Federation {
	t.Helper()
	f := &Federation{t: t}
	primary := dcs[0].Name
	var joinWAN []string
	for _, dc := range dcs {
		dcOpts := append([]Option{func(i int, c *agent.Config) {
			c.Datacenter, c.PrimaryDatacenter = dc.Name, primary
			c.RetryJoinWAN = joinWAN
		}}, opts...)
		c := NewCluster(t, dc.Servers, dcOpts...)
		if joinWAN == nil {
			joinWAN = []string{c.Agents[0].WANAddr()}
		}
		f.DCs = append(f.DCs, c)
		f.Names = append(f.Names, dc.Name)
	}
	f.WaitForWAN(30 * time.Second)
	return f
}

// DC returns the cluster of the named datacenter.
func (f *Federation) DC(name string) *Cluster {
	for i, n := range f.Names {
		if n == name {
			return f.DCs[i]
		}
	}
	f.t.Fatalf("no datacenter %q", name)
	return nil
}

// WaitForWAN waits until every running server lists every running server
// of every datacenter as an alive WAN member.
func (f *Federation) WaitForWAN(timeout time.Duration) {
	f.t.Helper()
	Eventually(f.t, timeout, func() error {
		want := 0
		for _, c := range f.DCs {
			for _, a := range c.Agents {
				if a != nil {
					want++
				}
			}
		}
		for _, c := range f.DCs {
			for _, a := range c.Agents {
				if a == nil {
					continue
				}
				if got := a.AliveWANMembers(); got < want {
					return fmt.Errorf("%s.%s sees %d of %d WAN members alive", a.Config().NodeName, a.Config().Datacenter, got, want)
				}
			}
		}
		return nil
	})
}
