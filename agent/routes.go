package agent

import "net/http"

// routes is the table of HTTP API endpoints. Paths ending in "/" take the
// rest of the URL path as a parameter. read() endpoints are blocking
// queries with consistency modes; write() endpoints run on the leader;
// the rest are answered by this agent.
func (a *Agent) routes() map[string]*route {
	get, put, post, del := http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete
	r := map[string]*route{}
	add := func(path string, methods map[string]handlerFunc) {
		r[path] = &route{path: path, methods: methods}
	}
	m := func(pairs ...any) map[string]handlerFunc {
		out := map[string]handlerFunc{}
		for i := 0; i < len(pairs); i += 2 {
			out[pairs[i].(string)] = pairs[i+1].(handlerFunc)
		}
		return out
	}

	// Config entries and discovery chains.
	// Config writes go to the primary datacenter (federation.go).
	add("/v1/config", m(put, a.configWrite(a.configApply)))
	add("/v1/config/", m(get, a.read(a.configGet), del, a.configWrite(a.configDelete)))
	add(replicationListPath, m(get, a.read(a.replicationConfigList)))
	add("/v1/discovery-chain/", m(get, a.read(a.discoveryChain), post, a.read(a.discoveryChain)))

	// Catalog and health.
	add("/v1/catalog/register", m(put, a.write(a.catalogRegister)))
	add("/v1/catalog/deregister", m(put, a.write(a.catalogDeregister)))
	add("/v1/catalog/datacenters", m(get, handlerFunc(a.catalogDatacenters)))
	add("/v1/catalog/nodes", m(get, a.read(a.catalogNodes)))
	add("/v1/catalog/services", m(get, a.read(a.catalogServices)))
	add("/v1/catalog/service/", m(get, a.read(a.catalogService)))
	add("/v1/catalog/node/", m(get, a.read(a.catalogNode)))
	add("/v1/catalog/node-services/", m(get, a.read(a.catalogNodeServices)))
	add("/v1/health/node/", m(get, a.read(a.healthNode)))
	add("/v1/health/checks/", m(get, a.read(a.healthChecks)))
	add("/v1/health/state/", m(get, a.read(a.healthState)))
	add("/v1/health/service/", m(get, a.read(a.healthService)))
	add("/v1/health/connect/", m(get, a.read(a.healthService)))
	add("/v1/health/ingress/", m(get, a.read(a.healthService)))

	// Agent.
	add("/v1/agent/self", m(get, handlerFunc(a.agentSelf)))
	add("/v1/agent/members", m(get, handlerFunc(a.agentMembers)))
	add("/v1/agent/leave", m(put, handlerFunc(a.agentLeave)))
	add("/v1/agent/services", m(get, handlerFunc(a.agentServices)))
	add("/v1/agent/service/", m(get, handlerFunc(a.agentService)))
	add("/v1/agent/checks", m(get, handlerFunc(a.agentChecks)))
	add("/v1/agent/service/register", m(put, handlerFunc(a.agentServiceRegister)))
	add("/v1/agent/service/deregister/", m(put, handlerFunc(a.agentServiceDeregister)))
	add("/v1/agent/check/register", m(put, handlerFunc(a.agentCheckRegister)))
	add("/v1/agent/check/deregister/", m(put, handlerFunc(a.agentCheckDeregister)))
	add("/v1/agent/check/pass/", m(put, a.agentCheckTTL("passing")))
	add("/v1/agent/check/warn/", m(put, a.agentCheckTTL("warning")))
	add("/v1/agent/check/fail/", m(put, a.agentCheckTTL("critical")))
	add("/v1/agent/check/update/", m(put, handlerFunc(a.agentCheckUpdate)))

	// Status and operator.
	add("/v1/status/leader", m(get, handlerFunc(a.statusLeader)))
	add("/v1/status/peers", m(get, handlerFunc(a.statusPeers)))
	add("/v1/operator/raft/configuration", m(get, handlerFunc(a.operatorRaftConfiguration)))
	add("/v1/operator/raft/peer", m(del, handlerFunc(a.operatorRaftPeerDelete)))
	add("/v1/operator/autopilot/health", m(get, handlerFunc(a.operatorAutopilotHealth)))
	add("/v1/operator/state-hash", m(get, handlerFunc(a.operatorStateHash)))

	// Cluster peering (http_peering.go).
	add("/v1/peering/token", m(post, a.write(a.peeringGenerateToken)))
	add("/v1/peering/establish", m(post, a.write(a.peeringEstablish)))
	add("/v1/peering/", m(get, a.leaderRead(a.peeringRead), del, a.write(a.peeringDelete)))
	add("/v1/peerings", m(get, a.leaderRead(a.peeringList)))
	add("/v1/exported-services", m(get, a.read(a.exportedServices)))
	return r
}

// PUT /v1/agent/leave: leave gracefully, then the process exits.
func (a *Agent) agentLeave(w http.ResponseWriter, r *http.Request, _ string) (any, error) {
	a.leaveOnce.Do(func() { close(a.leaveCh) })
	return nil, nil
}

// LeaveRequested is closed when PUT /v1/agent/leave was called.
func (a *Agent) LeaveRequested() <-chan struct{} { return a.leaveCh }
