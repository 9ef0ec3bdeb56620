package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// initBudget is the heap one of the project's own packages may allocate in
// its init: a command table, a few small maps. Work beyond that (compiling
// patterns, building tables) belongs to first use, since every process of
// the CLI pays for every linked package's init, whatever its command
// (issue 16: a lean start). Compiling triage's log patterns at init once
// cost 232 KB and about 70 page faults per process.
const initBudget = 32 << 10

// TestInitCost runs the real binary under GODEBUG=inittrace=1 and holds
// each of the project's packages to initBudget.
func TestInitCost(t *testing.T) {
	bin := vmcoreBinary(t)
	cmd := exec.Command(bin, "--version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("vmcore --version: %v\n%s", err, stderr.String())
	}
	const module = "github.com/vmcoretools/vmcore"
	seen := 0
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		// init PKG @T ms, C ms clock, B bytes, A allocs
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] != "init" || f[8] != "bytes," {
			continue
		}
		if f[1] != "main" && !strings.HasPrefix(f[1], module) {
			continue
		}
		seen++
		b, err := strconv.Atoi(f[7])
		if err != nil {
			t.Fatalf("inittrace line %q: %v", sc.Text(), err)
		}
		if b > initBudget {
			t.Errorf("package %s allocates %d bytes at init (budget %d): move the work to first use", f[1], b, initBudget)
		}
	}
	if seen < 5 {
		t.Fatalf("inittrace named %d of the project's packages; output:\n%s", seen, stderr.String())
	}
}
