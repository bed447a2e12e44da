package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"inferenceruntime/backend/events"
	"inferenceruntime/backend/service"
)

var (
	storeJSON bool
	storeCtx  int64
)

var storeCmd = &cobra.Command{
	Use:   "store [SEARCH]",
	Short: "Browse the curated model catalog: sizes, licences, and whether each fits this machine",
	Args:  cobra.ArbitraryArgs,
	RunE: func(cmd *cobra.Command, args []string) error {
		if storeCtx < 0 {
			return fmt.Errorf("--ctx %d is negative", storeCtx)
		}
		return listWithService(cmd, nil, func(svc *service.Service) error {
			entries, err := svc.StoreList(cmd.Context(), strings.Join(args, " "), storeCtx)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if storeJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(entries)
			}
			if len(entries) == 0 {
				fmt.Fprintln(out, "Nothing in the catalog matches. Any Hugging Face repository works too: ir pull ORG/REPO:QUANT")
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			for i, e := range entries {
				if i > 0 {
					fmt.Fprintln(tw)
				}
				m := e.Model
				fmt.Fprintf(tw, "%s\t%s · %s params · %s · %s\n", m.ID, m.Name, m.Params, m.License, m.Repo)
				fmt.Fprintf(tw, "\t%s\n", m.Description)
				for _, v := range e.Variants {
					size := events.FormatBytes(v.Size)
					if !v.SizeExact {
						size = "~" + size
					}
					mark := ""
					if v.Installed {
						mark = "installed"
					} else if strings.EqualFold(v.Quant, m.Default) {
						mark = "default"
					}
					fmt.Fprintf(tw, "  %s\t%s\t%s\tneeds %s at %d ctx\t%s\n", v.Name, size, v.Fit.Verdict,
						events.FormatBytes(v.Fit.Total), v.Fit.Context, mark)
				}
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(out, "\nPull one with: ir pull NAME   (sizes with ~ are approximate)")
			return nil
		})
	},
}

func init() {
	storeCmd.Flags().BoolVar(&storeJSON, "json", false, "print as JSON")
	storeCmd.Flags().Int64Var(&storeCtx, "ctx", 0, "context length for the fit estimate (default: the setting)")
	rootCmd.AddCommand(storeCmd)
}
