package scenariotests

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/scenario-tests/harness"
)

// The config-entry PUT target is "as many writes/s as etcd reaches on the
// same machine at the same concurrency". BenchmarkEtcdPut* measure etcd the
// way BenchmarkConfigPut* measure us: a 3-member cluster of real processes
// on loopback, writes through HTTP (etcd's JSON gateway, /v3/kv/put) from the
// same pooled client, spread over all members, with the same value (the
// service-defaults body). They are skipped when no etcd binary is on PATH
// (Debian: apt-get install etcd-server).

func BenchmarkEtcdPut1(b *testing.B)  { benchmarkEtcdPut(b, 1) }
func BenchmarkEtcdPut16(b *testing.B) { benchmarkEtcdPut(b, 16) }
func BenchmarkEtcdPut64(b *testing.B) { benchmarkEtcdPut(b, 64) }

func benchmarkEtcdPut(b *testing.B, clients int) {
	members := startEtcd(b, 3)
	var pids []int
	for _, m := range members {
		pids = append(pids, m.cmd.Process.Pid)
	}
	targets := members
	if only := benchTarget(b); only != "" {
		targets = nil
		for _, m := range members {
			code, out, err := m.post("/v3/maintenance/status", "{}")
			var st struct {
				Header struct {
					MemberID string `json:"member_id"`
				}
				Leader string
			}
			if err == nil && code == http.StatusOK {
				err = json.Unmarshal(out, &st)
			}
			if err != nil || st.Leader == "" {
				b.Fatalf("etcd status of %s: %d %s %v", m.name, code, out, err)
			}
			if (st.Header.MemberID == st.Leader) == (only == "leader") {
				targets = append(targets, m)
			}
		}
	}
	runPuts(b, clients, pids, func(w int, i int64) error {
		m := targets[int(i)%len(targets)]
		name := "bench-" + strconv.FormatInt(i, 10)
		value := fmt.Sprintf(`{"Kind":"service-defaults","Name":%q,"Protocol":"http"}`, name)
		body := fmt.Sprintf(`{"key":%q,"value":%q}`,
			base64.StdEncoding.EncodeToString([]byte("config/service-defaults/"+name)),
			base64.StdEncoding.EncodeToString([]byte(value)))
		code, out, err := m.post("/v3/kv/put", body)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("etcd put: %d %s", code, out)
		}
		return err
	})
}

type etcdMember struct {
	name       string
	clientAddr string
	cmd        *exec.Cmd
}

func (m *etcdMember) post(path, body string) (int, []byte, error) {
	code, out, _, err := harness.Do(http.MethodPost, "http://"+m.clientAddr+path, []byte(body))
	return code, out, err
}

// startEtcd starts an n-member etcd cluster with default settings (so
// with fsync on every commit, as ours) and waits until it accepts writes.
func startEtcd(b *testing.B, n int) []*etcdMember {
	bin, err := exec.LookPath("etcd")
	if err != nil {
		b.Skip("etcd is not installed; the comparison needs it (apt-get install etcd-server)")
	}
	dir := b.TempDir()
	ports := harness.FreePorts(b, 2*n)
	var initial []string
	for i := 0; i < n; i++ {
		initial = append(initial, fmt.Sprintf("e%d=http://127.0.0.1:%d", i, ports[2*i+1]))
	}
	var members []*etcdMember
	for i := 0; i < n; i++ {
		m := &etcdMember{name: fmt.Sprintf("e%d", i), clientAddr: fmt.Sprintf("127.0.0.1:%d", ports[2*i])}
		peer := fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1])
		log, err := os.Create(filepath.Join(dir, m.name+".log"))
		if err != nil {
			b.Fatal(err)
		}
		m.cmd = exec.Command(bin,
			"--name", m.name,
			"--data-dir", filepath.Join(dir, m.name),
			"--listen-client-urls", "http://"+m.clientAddr,
			"--advertise-client-urls", "http://"+m.clientAddr,
			"--listen-peer-urls", peer,
			"--initial-advertise-peer-urls", peer,
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-state", "new",
			"--initial-cluster-token", "bench",
			"--log-level", "error")
		m.cmd.Stdout, m.cmd.Stderr = log, log
		m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := m.cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			_ = m.cmd.Process.Kill()
			_ = m.cmd.Wait()
			log.Close()
		})
		members = append(members, m)
	}
	harness.Eventually(b, 30*time.Second, func() error {
		for _, m := range members {
			code, out, err := m.post("/v3/kv/put", `{"key":"d2FybXVw","value":"MQ=="}`)
			if err != nil {
				return err
			}
			if code != http.StatusOK || !bytes.Contains(out, []byte("header")) {
				return fmt.Errorf("%s: %d %s", m.name, code, out)
			}
		}
		return nil
	})
	return members
}
