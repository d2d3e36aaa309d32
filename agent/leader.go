package agent

import (
	"time"

	"github.com/hashicorp/raft"
)

// leaderLoop runs a leader session while this server leads and stops it
// when leadership is lost.
func (a *Agent) leaderLoop() {
	var stop chan struct{}
	var done chan struct{}
	end := func() {
		if stop != nil {
			close(stop)
			<-done
			stop, done = nil, nil
		}
	}
	defer end()
	for {
		select {
		case <-a.shutdownCh:
			return
		case isLeader := <-a.raft.leaderCh:
			if isLeader && stop == nil {
				stop, done = make(chan struct{}), make(chan struct{})
				go func(stop, done chan struct{}) {
					defer close(done)
					a.leaderSession(stop)
				}(stop, done)
			} else if !isLeader {
				end()
			}
		}
	}
}

// leaderSession is the work only the leader does: after a barrier (so the
// state store has every committed entry), reconcile gossip members into the
// Raft configuration and the catalog, again on every membership change and
// every ReconcileInterval.
func (a *Agent) leaderSession(stop chan struct{}) {
	a.logger.Info("acquired leadership")
	defer a.logger.Info("lost leadership")
	var term uint64
	for {
		// The barrier is appended in this term; if leadership is lost and
		// won again meanwhile it fails and is retried.
		term = a.raft.raft.CurrentTerm()
		err := a.raft.raft.Barrier(10 * time.Second).Error()
		if err == nil {
			break
		}
		a.logger.Warn("leader barrier failed, retrying", "error", err)
		select {
		case <-stop:
			return
		case <-time.After(time.Second):
		}
	}
	// Until the barrier, this leader's state store may lack committed
	// entries (Raft applies the log asynchronously after a restart).
	a.readyTerm.Store(term)
	defer a.readyTerm.Store(0)
	// A secondary's leader replicates config entries from the primary
	// (replication.go) for as long as this session lasts.
	replDone := make(chan struct{})
	go func() {
		defer close(replDone)
		a.runReplication(stop)
	}()
	defer func() { <-replDone }()
	waitPeering := a.startPeeringLeader(stop)
	defer waitPeering()
	tick := time.NewTicker(a.config.ReconcileInterval)
	defer tick.Stop()
	for {
		if err := a.ensureClusterID(); err != nil {
			a.logger.Warn("cluster identity not initialised, will retry", "error", err)
		}
		a.reconcile()
		select {
		case <-stop:
			return
		case <-a.lan.Changes():
		case <-tick.C:
		}
	}
}

// leaderReady reports whether this server leads and its state store holds
// every entry committed so far: its leader session passed a barrier in the
// current term. Checking the term too covers leadership lost and won again
// before the old session has ended.
func (a *Agent) leaderReady() bool {
	t := a.readyTerm.Load()
	return t != 0 && a.isLeader() && t == a.raft.raft.CurrentTerm()
}

// reconcile brings Raft membership and the catalog in line with gossip.
func (a *Agent) reconcile() {
	members := a.lan.Members()
	a.reconcileRaft(members)
	a.reconcileCatalog(members)
}

// reconcileRaft adds alive servers of this datacenter as voters and removes
// servers that left, or stayed failed past DeadServerGrace — the latter only
// while the remaining healthy voters still form a quorum.
func (a *Agent) reconcileRaft(members []Member) {
	cfg, err := a.raftConfiguration()
	if err != nil {
		a.logger.Warn("cannot read raft configuration", "error", err)
		return
	}
	inRaft := map[raft.ServerID]raft.Server{}
	for _, s := range cfg.Servers {
		inRaft[s.ID] = s
	}
	byID := map[raft.ServerID]Member{}
	for _, m := range members {
		if m.IsServer() && m.Tags["dc"] == a.config.Datacenter && m.Tags["id"] != "" {
			byID[raft.ServerID(m.Tags["id"])] = m
		}
	}
	for id, m := range byID {
		s, ok := inRaft[id]
		if m.Status != StatusAlive || (ok && string(s.Address) == m.ServerAddr()) {
			continue
		}
		a.logger.Info("adding server to raft", "server", m.Name, "id", id, "address", m.ServerAddr())
		if err := a.raft.raft.AddVoter(id, raft.ServerAddress(m.ServerAddr()), 0, 10*time.Second).Error(); err != nil {
			a.logger.Warn("adding raft voter failed", "server", m.Name, "error", err)
		}
	}
	for id, s := range inRaft {
		m, ok := byID[id]
		if !ok || id == raft.ServerID(a.config.NodeID) {
			continue
		}
		switch {
		case m.Status == StatusLeft:
			a.removeServer(s, "left the cluster")
		case m.Status == StatusFailed && time.Since(m.changed) > a.config.DeadServerGrace:
			if a.canRemoveFailed(cfg, byID) {
				a.removeServer(s, "failed past the grace period")
			}
		}
	}
}

// canRemoveFailed: after removing one voter, the healthy voters must still
// be a majority of the smaller configuration.
func (a *Agent) canRemoveFailed(cfg raft.Configuration, byID map[raft.ServerID]Member) bool {
	voters, healthy := 0, 0
	for _, s := range cfg.Servers {
		if s.Suffrage != raft.Voter {
			continue
		}
		voters++
		if m, ok := byID[s.ID]; ok && m.Status == StatusAlive || s.ID == raft.ServerID(a.config.NodeID) {
			healthy++
		}
	}
	return healthy >= (voters-1)/2+1
}

func (a *Agent) removeServer(s raft.Server, why string) {
	a.logger.Info("removing server from raft", "id", s.ID, "address", s.Address, "reason", why)
	if err := a.raft.raft.RemoveServer(s.ID, 0, 10*time.Second).Error(); err != nil {
		a.logger.Warn("removing raft server failed", "id", s.ID, "error", err)
	}
}
