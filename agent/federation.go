package agent

import "net/http"

// forwardToDC serves a request for another datacenter. Federation comes
// with WAN gossip; until a datacenter is known, Consul's answer applies.
func (a *Agent) forwardToDC(w http.ResponseWriter, r *http.Request, dc string, body []byte) error {
	return &httpError{http.StatusInternalServerError, "No path to datacenter"}
}
