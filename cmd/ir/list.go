package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"inferenceruntime/backend/events"
	"inferenceruntime/backend/library"
	"inferenceruntime/backend/service"
	"inferenceruntime/inference/gguf"
)

var listJSON bool

var listCmd = &cobra.Command{
	Use:     "list",
	Aliases: []string{"ls"},
	Short:   "List the models in the library",
	Args:    cobra.NoArgs,
	RunE: func(cmd *cobra.Command, args []string) error {
		return listWithService(cmd, nil, func(svc *service.Service) error {
			ms, err := svc.ListModels(cmd.Context())
			if err != nil {
				return err
			}
			if listJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if ms == nil {
					ms = []*library.Model{}
				}
				return enc.Encode(ms)
			}
			return listWrite(cmd.OutOrStdout(), ms)
		})
	},
}

func init() {
	listCmd.Flags().BoolVar(&listJSON, "json", false, "print as JSON")
	rootCmd.AddCommand(listCmd)
}

// listService opens the service for the library and store commands, with
// events going to emit (nil: nowhere). Callers Close it.
func listService(cmd *cobra.Command, emit events.Emitter) (*service.Service, error) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return service.Open(ctx, service.Options{Home: homeFlag, Emitter: emit})
}

// listWithService runs fn with an open service (events going to emit) and
// closes it afterwards.
func listWithService(cmd *cobra.Command, emit events.Emitter, fn func(*service.Service) error) error {
	svc, err := listService(cmd, emit)
	if err != nil {
		return err
	}
	defer svc.Close()
	return fn(svc)
}

func listWrite(out io.Writer, ms []*library.Model) error {
	if len(ms) == 0 {
		fmt.Fprintln(out, "No models yet. Try `ir pull stories260k`, `ir import FILE.gguf` or `ir store`.")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tSIZE\tPARAMS\tQUANT\tARCH\tCONTEXT\tWHERE\tADDED")
	for _, m := range ms {
		where := "store"
		switch {
		case m.Missing:
			where = "MISSING " + m.Path
		case m.Location == library.InPlace:
			where = m.Path
		}
		name := m.Name
		for _, a := range m.Aliases {
			name += ", " + a
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", name, m.ID[:8], events.FormatBytes(m.Size),
			gguf.FormatCount(m.Meta.ParamCount), events.Printable(m.Meta.FileType), events.Printable(archLabel(m)),
			m.Meta.ContextLength, events.Printable(where), listAge(m.AddedAt))
	}
	return tw.Flush()
}

// archLabel is a model's architecture, marked "vision" when a projector
// lets it read images.
func archLabel(m *library.Model) string {
	if m.Projector != "" {
		return m.Meta.Architecture + "+vision"
	}
	return m.Meta.Architecture
}

// listAge renders a time as "3 minutes ago" style, coarse.
func listAge(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return t.Format("2006-01-02")
}
