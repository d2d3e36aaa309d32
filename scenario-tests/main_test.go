package scenariotests

import (
	"os"
	"testing"

	"github.com/switchyard/switchyard/scenario-tests/harness"
)

// TestMain removes the switchyard binary the harness built for this run.
func TestMain(m *testing.M) {
	code := m.Run()
	harness.RemoveBuiltBinary()
	os.Exit(code)
}
