package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestServeLogsToFile: `ir serve` writes its log where the README says,
// logs/ir.log of the data directory, as JSON lines: the start and each
// request, with --quiet too (which only silences stderr).
func TestServeLogsToFile(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		home := t.TempDir()
		args := []string{"--home", home, "serve", "--port", "0"}
		if quiet {
			args = append(args, "--quiet")
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestDBOpenChild$")
		cmd.Env = append(os.Environ(), dbOpenChildEnv+"="+strings.Join(args, "\x1f"))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		url, ok := strings.CutPrefix(line, "listening on ")
		if err != nil || !ok {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("serve printed %q (%v); stderr %s", line, err, stderr.String())
		}
		url = strings.Fields(url)[0]
		resp, err := http.Get(url + "/api/version")
		if err == nil {
			resp.Body.Close()
		}
		cmd.Process.Signal(syscall.SIGTERM)
		if werr := cmd.Wait(); err != nil || werr != nil {
			t.Fatalf("GET: %v; serve ended with %v; stderr %s", err, werr, stderr.String())
		}

		b, err := os.ReadFile(filepath.Join(home, "logs", "ir.log"))
		if err != nil {
			t.Fatal(err)
		}
		var started, request bool
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Fatalf("log line %q is not JSON: %v", l, err)
			}
			if rec["program"] != "ir" {
				t.Errorf("log line %q has no program ir", l)
			}
			started = started || rec["message"] == "serve starting"
			request = request || rec["path"] == "/api/version"
		}
		if !started || !request {
			t.Errorf("quiet %v: ir.log lacks the start (%v) or the request (%v):\n%s", quiet, started, request, b)
		}
		if onStderr := strings.Contains(stderr.String(), "/api/version"); onStderr == quiet {
			t.Errorf("quiet %v: request on stderr %v:\n%s", quiet, onStderr, stderr.String())
		}
	}
}
