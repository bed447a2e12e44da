package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"inferenceruntime/backend/buildinfo"
)

var versionJSON bool

var versionCmd = &cobra.Command{
	Use:   "version",
	Short: "Print the version and build information",
	Args:  cobra.NoArgs,
	RunE: func(cmd *cobra.Command, args []string) error {
		info := buildinfo.Get()
		out := cmd.OutOrStdout()
		if versionJSON {
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			return enc.Encode(info)
		}
		_, err := fmt.Fprint(out, info.String())
		return err
	},
}

func init() {
	versionCmd.Flags().BoolVar(&versionJSON, "json", false, "print as JSON")
	rootCmd.AddCommand(versionCmd)
	// ir --version prints what ir version does.
	rootCmd.Version = buildinfo.Get().Version
	rootCmd.SetVersionTemplate(buildinfo.Get().String())
}
