package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"inferenceruntime/backend/events"
	"inferenceruntime/backend/library"
	"inferenceruntime/backend/service"
)

var foldersCmd = &cobra.Command{
	Use:   "folders",
	Short: "Manage folders whose GGUF files are used in place (Hugging Face cache, LM Studio, Ollama, ...)",
}

var foldersAddCmd = &cobra.Command{
	Use:   "add PATH...",
	Short: "Index a folder's GGUF files in place (nothing is copied)",
	Args:  cobra.MinimumNArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		return listWithService(cmd, nil, func(svc *service.Service) error {
			for _, p := range args {
				f, rep, err := svc.AddFolder(cmd.Context(), p)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "added %s\n", events.Printable(f.Path))
				foldersReport(cmd.OutOrStdout(), rep)
			}
			return nil
		})
	},
}

var foldersRmCmd = &cobra.Command{
	Use:   "rm PATH...",
	Short: "Stop indexing a folder (its files are not touched)",
	Args:  cobra.MinimumNArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		return listWithService(cmd, nil, func(svc *service.Service) error {
			for _, p := range args {
				if err := svc.RemoveFolder(cmd.Context(), p); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", p)
			}
			return nil
		})
	},
}

var foldersListCmd = &cobra.Command{
	Use:   "list",
	Short: "List the library folders (and suggest the usual ones that exist here)",
	Args:  cobra.NoArgs,
	RunE: func(cmd *cobra.Command, args []string) error {
		return listWithService(cmd, nil, func(svc *service.Service) error {
			fs, err := svc.Folders(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			have := map[string]bool{}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "FOLDER\tMODELS")
			for _, f := range fs {
				fmt.Fprintf(tw, "%s\t%d\n", events.Printable(f.Path), f.Models)
				have[f.Path] = true
			}
			tw.Flush()
			for _, s := range library.SuggestedFolders() {
				if !have[s] {
					fmt.Fprintf(out, "suggestion: ir folders add %s\n", s)
				}
			}
			return nil
		})
	},
}

var foldersRescanCmd = &cobra.Command{
	Use:   "rescan",
	Short: "Look for new, vanished and returned files in every library folder",
	Args:  cobra.NoArgs,
	RunE: func(cmd *cobra.Command, args []string) error {
		return listWithService(cmd, nil, func(svc *service.Service) error {
			rep, err := svc.Rescan(cmd.Context())
			if err != nil {
				return err
			}
			foldersReport(cmd.OutOrStdout(), rep)
			return nil
		})
	},
}

func foldersReport(out io.Writer, rep library.ScanReport) {
	for _, n := range rep.Added {
		fmt.Fprintf(out, "  new: %s\n", n)
	}
	for _, n := range rep.Restored {
		fmt.Fprintf(out, "  back: %s\n", n)
	}
	for _, n := range rep.Missing {
		fmt.Fprintf(out, "  missing: %s\n", n)
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(out, "  skipped %s: %s\n", events.Printable(s.Path), events.Printable(s.Reason))
	}
	if len(rep.Added)+len(rep.Restored)+len(rep.Missing)+len(rep.Skipped) == 0 {
		fmt.Fprintln(out, "  no changes")
	}
}

func init() {
	foldersCmd.AddCommand(foldersAddCmd, foldersRmCmd, foldersListCmd, foldersRescanCmd)
	rootCmd.AddCommand(foldersCmd)
}
