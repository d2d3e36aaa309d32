package agent

import (
	"fmt"
	"net/http"

	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/fsm"
)

// trustDomain is "<cluster-id>.consul", the domain of the cluster's SNIs.
// The cluster ID lives in Raft so every server derives the same domain.
func (a *Agent) trustDomain(ws memdb.WatchSet, s *stateStore) (string, error) {
	_, id, err := s.SystemMeta(ws, fsm.MetaClusterID)
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", &httpError{http.StatusInternalServerError, "no cluster ca config setup: the cluster has not elected its first leader yet"}
	}
	return id + ".consul", nil
}

// ensureClusterID gives the cluster its ID the first time a leader is
// elected. The write keeps an existing value, so racing leaders agree.
func (a *Agent) ensureClusterID() error {
	_, id, err := a.state.store().SystemMeta(nil, fsm.MetaClusterID)
	if err != nil || id != "" {
		return err
	}
	newID, err := newUUID()
	if err != nil {
		return err
	}
	cmd, err := fsm.EncodeSystemMetaSet(fsm.MetaClusterID, newID, true)
	if err != nil {
		return err
	}
	if _, err := a.raftApply(cmd); err != nil {
		return fmt.Errorf("initialising the cluster ID: %w", err)
	}
	a.logger.Info("initialised cluster identity", "cluster_id", newID)
	return nil
}
