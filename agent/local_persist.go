package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/switchyard/switchyard/catalog"
)

// The services and checks registered with this agent are kept in
// <data-dir>/local/registrations.json, so that an agent restart does not
// drop them (and its first full sync pass does not deregister them), as
// Consul keeps them in its data dir. The file is rewritten, atomically,
// after every registration or deregistration; status changes (TTL updates,
// check runs) are not written: after a restart each check starts from the
// status it was registered with, and runs or TTL updates move it on.

const (
	localStateDir  = "local"
	localStateFile = "registrations.json"
	// localStateVersion is the file's format; a newer file is refused.
	localStateVersion = 1
)

type savedLocalState struct {
	Version  int
	Services []*catalog.NodeService
	Checks   []savedCheck
}

type savedCheck struct {
	Check *catalog.HealthCheck
	// TTL of a TTL check, 0 for other types.
	TTL time.Duration
}

func localStatePath(dataDir string) string {
	return filepath.Join(dataDir, localStateDir, localStateFile)
}

// snapshot returns the live registrations, each check with the status it
// was registered with.
func (l *localState) snapshot() savedLocalState {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := savedLocalState{Version: localStateVersion, Services: []*catalog.NodeService{}, Checks: []savedCheck{}}
	for _, id := range sortedKeys(l.services) {
		if s := l.services[id]; !s.deleted {
			out.Services = append(out.Services, s.svc)
		}
	}
	for _, id := range sortedKeys(l.checks) {
		if lc := l.checks[id]; !lc.deleted {
			out.Checks = append(out.Checks, savedCheck{Check: lc.registered, TTL: lc.ttl})
		}
	}
	return out
}

// saveLocal writes the registrations to the data dir: a temporary file,
// synced, then renamed over the old one, so a crash leaves either.
func (a *Agent) saveLocal() error {
	a.localSaveMu.Lock()
	defer a.localSaveMu.Unlock()
	path := localStatePath(a.config.DataDir)
	data, err := json.MarshalIndent(a.local.snapshot(), "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), localStateFile+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// restoreLocal loads the registrations saved by an earlier run, under this
// agent's node name. A missing file is a first start; an unreadable one
// stops the agent with the path, since starting without the registrations
// would deregister every one of them.
func (a *Agent) restoreLocal() (err error) {
	defer func() {
		if err != nil {
			a.local.stop() // the sync loop that would stop the check runners never starts
		}
	}()
	path := localStatePath(a.config.DataDir)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the agent's registrations: %w", err)
	}
	var saved savedLocalState
	if err = json.Unmarshal(data, &saved); err != nil {
		return fmt.Errorf("%s is damaged (%v); move it away to start without the services and checks registered with this agent", path, err)
	}
	if saved.Version > localStateVersion {
		return fmt.Errorf("%s has format version %d; this binary reads up to %d", path, saved.Version, localStateVersion)
	}
	for _, svc := range saved.Services {
		a.local.addService(svc, nil, false)
	}
	for _, sc := range saved.Checks {
		if sc.Check == nil {
			continue
		}
		sc.Check.Node = a.config.NodeName
		if err := a.local.addCheck(sc.Check, sc.TTL); err != nil {
			return fmt.Errorf("%s: check %q: %w", path, sc.Check.CheckID, err)
		}
	}
	if n := len(saved.Services) + len(saved.Checks); n > 0 {
		a.logger.Info("restored services and checks registered with this agent", "services", len(saved.Services), "checks", len(saved.Checks))
	}
	return nil
}
