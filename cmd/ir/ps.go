package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"inferenceruntime/backend/config"
	"inferenceruntime/backend/events"
)

// psModel is what `ir ps` reads of one model of /api/ps.
type psModel struct {
	Name      string    `json:"name"`
	Digest    string    `json:"digest"`
	Size      int64     `json:"size"`
	SizeVRAM  int64     `json:"size_vram"`
	ExpiresAt time.Time `json:"expires_at"`
	Context   int64     `json:"context_length"`
	Device    string    `json:"device"`
	GPULayers int       `json:"gpu_layers"`
	Layers    int       `json:"layers"`
}

var psCmd = &cobra.Command{
	Use:   "ps",
	Short: "List the models a running `ir serve` has loaded, and where they run",
	Long: "List the models loaded by the server (`ir serve`, or the desktop app's local API) at $IR_HOST,\n" +
		"else on this computer at the port of the settings: their memory, the processor (100% CPU, 100% GPU,\n" +
		"or the CPU/GPU share of their layers), the device and GPU layers, and until when they stay loaded.",
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, args []string) error {
		base, key, err := psServer()
		if err != nil {
			return err
		}
		models, err := fetchPs(base, key)
		if err != nil {
			return err
		}
		writePs(cmd.OutOrStdout(), models, time.Now())
		return nil
	},
}

func init() { rootCmd.AddCommand(psCmd) }

// psServer is the URL of the server to ask, with its API key: $IR_HOST
// (as `ir serve` reads it; an address of every interface means this
// computer), else 127.0.0.1 at the settings' port; $IR_API_KEY, else the
// settings' key.
func psServer() (base, key string, err error) {
	settings := config.Defaults()
	if dir, err := config.DataDir(homeFlag); err == nil {
		if s, err := config.LoadSettings(dir); err == nil {
			settings = s
		}
	}
	host, port := "127.0.0.1", settings.API.Port
	if v := os.Getenv(envHost); v != "" {
		h, p, err := parseListenAddr(v)
		if err != nil {
			return "", "", err
		}
		if h != "0.0.0.0" && h != "::" && h != "" {
			host = h
		}
		if p > 0 {
			port = p
		}
	}
	key = settings.API.APIKey
	if k := os.Getenv("IR_API_KEY"); k != "" {
		key = k
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port)), key, nil
}

// fetchPs reads /api/ps.
func fetchPs(base, key string) ([]psModel, error) {
	req, err := http.NewRequest(http.MethodGet, base+"/api/ps", nil)
	if err != nil {
		return nil, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("no server answers at %s (start one with `ir serve`, or turn on the local API in the app): %w", base, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		return nil, fmt.Errorf("%s/api/ps: %s: %s", base, res.Status, strings.TrimSpace(string(body)))
	}
	var out struct {
		Models []psModel `json:"models"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("%s/api/ps: %w", base, err)
	}
	return out.Models, nil
}

// writePs prints the table of `ir ps`.
func writePs(out io.Writer, models []psModel, now time.Time) {
	w := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	fmt.Fprintln(w, "NAME\tID\tSIZE\tPROCESSOR\tDEVICE\tCONTEXT\tUNTIL")
	for _, m := range models {
		id := strings.TrimPrefix(m.Digest, "sha256:")
		if len(id) > 12 {
			id = id[:12]
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", events.Printable(m.Name), id, events.FormatBytes(m.Size), processor(m), deviceOf(m), m.Context, until(m.ExpiresAt, now))
	}
	w.Flush()
}

// processor says where a model's layers run, as Ollama's ps does.
func processor(m psModel) string {
	switch {
	case m.GPULayers <= 0 || m.Device == "cpu" || m.Device == "":
		return "100% CPU"
	case m.Layers <= 0 || m.GPULayers >= m.Layers:
		return "100% GPU"
	}
	gpu := (100*m.GPULayers + m.Layers/2) / m.Layers
	return fmt.Sprintf("%d%%/%d%% CPU/GPU", 100-gpu, gpu)
}

// deviceOf names the device and how many of the model's layers it holds.
func deviceOf(m psModel) string {
	if m.GPULayers <= 0 || m.Device == "" {
		return "cpu"
	}
	return fmt.Sprintf("%s (%d/%d layers)", m.Device, m.GPULayers, m.Layers)
}

// until says when a model unloads: "Forever" for one kept or in use.
func until(t, now time.Time) string {
	d := t.Sub(now)
	switch {
	case t.IsZero() || d > 10*365*24*time.Hour:
		return "Forever"
	case d <= 0:
		return "Now"
	case d < time.Minute:
		return fmt.Sprintf("%d seconds from now", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d minutes from now", int(d.Round(time.Minute).Minutes()))
	}
	return fmt.Sprintf("%d hours from now", int(d.Round(time.Hour).Hours()))
}
