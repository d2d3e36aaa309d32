package scenariotests

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl"

	"github.com/switchyard/switchyard/scenario-tests/harness"
)

// The Vagrantfile cannot be brought up here (no hypervisor), so these tests
// check what can be checked without one: the machine table, the shell the
// provisioners run, and every server's config as the binary itself reads
// it. `vagrant validate` runs too when vagrant is installed.

// vagrantMachine is one row of the Vagrantfile's SERVERS table.
type vagrantMachine struct{ Name, Cluster, Datacenter, IP string }

var (
	machineRow    = regexp.MustCompile(`\{\s*name:\s*"([^"]+)",\s*cluster:\s*"([^"]+)",\s*datacenter:\s*"([^"]+)",\s*ip:\s*"([^"]+)"\s*\}`)
	provisionPath = regexp.MustCompile(`"(deploy/vagrant/[^"]+\.sh)"`)
	peeringRole   = regexp.MustCompile(`(?m)^PEERING_(ACCEPTOR|DIALER)\s*=\s*"([^"]+)"`)
)

const serfLANPort = "8301" // as SERF_LAN_PORT in the Vagrantfile

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// readVagrantfile returns the Vagrantfile's text and its machine table.
func readVagrantfile(t *testing.T) (string, []vagrantMachine) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "Vagrantfile"))
	if err != nil {
		t.Fatalf("read the Vagrantfile: %v", err)
	}
	var ms []vagrantMachine
	for _, m := range machineRow.FindAllStringSubmatch(string(b), -1) {
		ms = append(ms, vagrantMachine{Name: m[1], Cluster: m[2], Datacenter: m[3], IP: m[4]})
	}
	return string(b), ms
}

// joinsOf is what the Vagrantfile passes as retry_join for m: the other
// servers of its cluster.
func joinsOf(m vagrantMachine, all []vagrantMachine) []string {
	var out []string
	for _, o := range all {
		if o.Cluster == m.Cluster && o.Name != m.Name {
			out = append(out, net.JoinHostPort(o.IP, serfLANPort))
		}
	}
	return out
}

func TestVagrantfileDefinesTwoClustersOfThree(t *testing.T) {
	text, ms := readVagrantfile(t)
	if len(ms) != 6 {
		t.Fatalf("want 6 machines in SERVERS, found %d: %+v", len(ms), ms)
	}
	names, ips := map[string]bool{}, map[string]bool{}
	clusters := map[string][]vagrantMachine{}
	_, subnet, err := net.ParseCIDR(ms[0].IP + "/24")
	if err != nil {
		t.Fatalf("machine %s: IP %q: %v", ms[0].Name, ms[0].IP, err)
	}
	for _, m := range ms {
		if names[m.Name] {
			t.Errorf("machine name %s is used twice", m.Name)
		}
		if ips[m.IP] {
			t.Errorf("IP %s is used twice", m.IP)
		}
		names[m.Name], ips[m.IP] = true, true
		ip := net.ParseIP(m.IP)
		if ip == nil || ip.To4() == nil || !ip.IsPrivate() {
			t.Errorf("machine %s: %q is not a private IPv4 address", m.Name, m.IP)
		} else if !subnet.Contains(ip) {
			t.Errorf("machine %s: %s is outside the private network %s of the others", m.Name, m.IP, subnet)
		}
		clusters[m.Cluster] = append(clusters[m.Cluster], m)
	}
	if len(clusters) != 2 {
		t.Fatalf("want two clusters, found %d", len(clusters))
	}
	for name, members := range clusters {
		if len(members) != 3 {
			t.Errorf("cluster %s has %d servers, want 3", name, len(members))
		}
		for _, m := range members {
			if m.Datacenter != members[0].Datacenter {
				t.Errorf("cluster %s mixes datacenters %s and %s", name, members[0].Datacenter, m.Datacenter)
			}
		}
	}

	// The table must be what the machines are made of, not a comment.
	for _, want := range []string{
		`config.vm.box = "debian/bookworm64"`,
		`SERVERS.each do |s|`,
		`config.vm.define s[:name]`,
		`node.vm.network "private_network", ip: s[:ip]`,
		`PROVISION = "deploy/vagrant/provision.sh"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the Vagrantfile lacks %q", want)
		}
	}
	roles := map[string]string{}
	for _, m := range peeringRole.FindAllStringSubmatch(text, -1) {
		roles[m[1]] = m[2]
	}
	acc, dial := roles["ACCEPTOR"], roles["DIALER"]
	if clusters[acc] == nil || clusters[dial] == nil || acc == dial {
		t.Errorf("PEERING_ACCEPTOR %q and PEERING_DIALER %q must name the two clusters", acc, dial)
	}
}

func TestVagrantProvisionScriptsParse(t *testing.T) {
	root := repoRoot(t)
	text, _ := readVagrantfile(t)
	scripts, _ := filepath.Glob(filepath.Join(root, "deploy", "vagrant", "*.sh"))
	for _, m := range provisionPath.FindAllStringSubmatch(text, -1) {
		if p := filepath.Join(root, m[1]); !slices.Contains(scripts, p) {
			scripts = append(scripts, p)
		}
	}
	if len(scripts) == 0 {
		t.Fatal("no provisioning script under deploy/vagrant")
	}
	for _, s := range scripts {
		if out, err := exec.Command("bash", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", s, err, out)
		}
	}
}

// provision runs the provisioning script in render mode: files go under
// root and nothing is installed or started. SWITCHYARD_BINARY points
// nowhere, so that even a script that ignored render mode would stop
// before installing anything on this machine.
func provision(t *testing.T, root string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(repoRoot(t), "deploy", "vagrant", "provision.sh")}, args...)...)
	cmd.Env = append(os.Environ(), "SWITCHYARD_PROVISION_ROOT="+root, "SWITCHYARD_BINARY="+filepath.Join(root, "no-such-binary"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestVagrantProvisionRendersValidConfigs(t *testing.T) {
	bin := harness.Binary(t)
	_, ms := readVagrantfile(t)
	if len(ms) == 0 {
		t.Fatal("no machines in the Vagrantfile")
	}
	for _, m := range ms {
		t.Run(m.Name, func(t *testing.T) {
			root := t.TempDir()
			joins := joinsOf(m, ms)
			if out, err := provision(t, root, "server", m.Name, m.Datacenter, m.IP, strings.Join(joins, ",")); err != nil {
				t.Fatalf("render: %v\n%s", err, out)
			}
			confDir := filepath.Join(root, "etc", "switchyard.d")
			checkRenderedConfig(t, filepath.Join(confDir, "server.hcl"), m, joins)

			// The binary reads the directory exactly as the unit's
			// ExecStart does, and runs a start's checks without starting.
			out, err := exec.Command(bin, "agent", "-config-dir", confDir, "-validate-config").CombinedOutput()
			if err != nil {
				t.Fatalf("switchyard agent -validate-config: %v\n%s", err, out)
			}
			for _, want := range []string{`node "` + m.Name + `"`, `datacenter "` + m.Datacenter + `"`, "server true", "bootstrap-expect 3", "advertise " + m.IP} {
				if !strings.Contains(string(out), want) {
					t.Errorf("validate-config output lacks %q:\n%s", want, out)
				}
			}

			unit, err := os.ReadFile(filepath.Join(root, "etc", "systemd", "system", "switchyard.service"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				"ExecStartPre=/usr/local/bin/switchyard agent -config-dir /etc/switchyard.d -validate-config",
				"ExecStart=/usr/local/bin/switchyard agent -config-dir /etc/switchyard.d\n",
				"WantedBy=multi-user.target",
			} {
				if !strings.Contains(string(unit), want) {
					t.Errorf("unit lacks %q:\n%s", want, unit)
				}
			}

			// Re-provisioning with the same arguments changes nothing.
			out2, err := provision(t, root, "server", m.Name, m.Datacenter, m.IP, strings.Join(joins, ","))
			if err != nil || strings.Contains(out2, "wrote ") {
				t.Errorf("second render must succeed and write nothing: %v\n%s", err, out2)
			}
		})
	}

	// The check is not vacuous: a misspelt key is refused by name.
	t.Run("a broken config is refused", func(t *testing.T) {
		dir := t.TempDir()
		bad := "server = true\nbootstrap_expekt = 3\nnode_name = \"x\"\ndata_dir = \"/opt/switchyard/data\"\nbind_addr = \"192.168.56.11\"\n"
		if err := os.WriteFile(filepath.Join(dir, "server.hcl"), []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "agent", "-config-dir", dir, "-validate-config").CombinedOutput()
		if err == nil || !strings.Contains(string(out), `unknown config key "bootstrap_expekt"`) {
			t.Fatalf("want a refusal naming bootstrap_expekt, got %v:\n%s", err, out)
		}
	})
	t.Run("bad arguments are refused", func(t *testing.T) {
		for _, args := range [][]string{
			{"server", "s1", "dc1", "192.168.56.311", "192.168.56.12:8301"},
			{"server", "s1", "dc1", "192.168.56.11", "192.168.56.12"},
			{"server", "s1", "dc 1", "192.168.56.11", "192.168.56.12:8301"},
			{"server", "s1", "dc1", "192.168.56.11"},
			{"bogus"},
		} {
			if out, err := provision(t, t.TempDir(), args...); err == nil || !strings.Contains(out, "error:") {
				t.Errorf("provision.sh %v: want a refusal, got %v:\n%s", args, err, out)
			}
		}
	})
	t.Run("peer step in render mode", func(t *testing.T) {
		out, err := provision(t, t.TempDir(), "peer", "cluster-02", "192.168.56.21:8500", "cluster-01", "192.168.56.11:8500")
		if err != nil || !strings.Contains(out, "would peer cluster-01 (dials) with cluster-02 (accepts)") {
			t.Fatalf("%v\n%s", err, out)
		}
	})
}

// checkRenderedConfig parses the HCL the way the agent does (HCL v1) and
// checks each key the Vagrant cluster depends on.
func checkRenderedConfig(t *testing.T, path string, m vagrantMachine, joins []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Server          bool     `hcl:"server"`
		BootstrapExpect int      `hcl:"bootstrap_expect"`
		NodeName        string   `hcl:"node_name"`
		Datacenter      string   `hcl:"datacenter"`
		DataDir         string   `hcl:"data_dir"`
		BindAddr        string   `hcl:"bind_addr"`
		AdvertiseAddr   string   `hcl:"advertise_addr"`
		ClientAddr      string   `hcl:"client_addr"`
		RetryJoin       []string `hcl:"retry_join"`
	}
	if err := hcl.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !cfg.Server || cfg.BootstrapExpect != 3 || cfg.NodeName != m.Name || cfg.Datacenter != m.Datacenter || cfg.DataDir == "" {
		t.Errorf("%s: server=%v bootstrap_expect=%d node_name=%q datacenter=%q data_dir=%q; want true, 3, %q, %q, set",
			path, cfg.Server, cfg.BootstrapExpect, cfg.NodeName, cfg.Datacenter, cfg.DataDir, m.Name, m.Datacenter)
	}
	if cfg.BindAddr != m.IP || cfg.AdvertiseAddr != m.IP || cfg.ClientAddr != m.IP {
		t.Errorf("%s: bind %s advertise %s client %s, want %s for all", path, cfg.BindAddr, cfg.AdvertiseAddr, cfg.ClientAddr, m.IP)
	}
	if !slices.Equal(cfg.RetryJoin, joins) {
		t.Errorf("%s: retry_join %v, want the other servers of %s: %v", path, cfg.RetryJoin, m.Cluster, joins)
	}
}

func TestVagrantValidate(t *testing.T) {
	if _, err := exec.LookPath("vagrant"); err != nil {
		t.Skip("vagrant is not installed: `vagrant validate` did not run; the parse checks stood in for it " +
			"(the machine table, bash -n on the provisioning script, and every rendered config validated by the binary)")
	}
	validate := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "vagrant", append([]string{"validate"}, args...)...)
		cmd.Dir = repoRoot(t)
		// Vagrant keeps machine state in .vagrant/ beside the Vagrantfile;
		// a validation must not leave one in the repository.
		cmd.Env = append(os.Environ(), "VAGRANT_DOTFILE_PATH="+filepath.Join(t.TempDir(), "dot"), "VAGRANT_CHECKPOINT_DISABLE=1")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := validate()
	if err != nil && strings.Contains(strings.ToLower(out), "provider") {
		// No hypervisor installed: validate what does not depend on one.
		t.Logf("vagrant validate needs a provider here:\n%s\nretrying with --ignore-provider", out)
		out, err = validate("--ignore-provider")
	}
	if err != nil {
		t.Fatalf("vagrant validate: %v\n%s", err, out)
	}
	t.Logf("vagrant validate: %s", strings.TrimSpace(out))
}
