// Command ir is the command-line face of Inference Runtime: it runs, serves,
// imports and inspects GGUF models through the same backend as the desktop
// app. It links no GUI libraries.
//
// Each subcommand lives in its own file and adds itself to rootCmd in init.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"inferenceruntime/backend/events"
)

// homeFlag is the data directory shared by all commands ("" = the per-OS
// default, or $IR_HOME).
var homeFlag string

var rootCmd = &cobra.Command{
	Use:           "ir",
	Short:         "Inference Runtime: run large language models locally from GGUF files",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func init() {
	rootCmd.PersistentFlags().StringVar(&homeFlag, "home", "", "data directory (default: $IR_HOME or the per-OS application data folder)")
}

func main() {
	if err := rootCmd.Execute(); err != nil {
		// Errors quote file names, metadata and server replies: each line is
		// made safe for the terminal.
		lines := strings.Split(err.Error(), "\n")
		for i, l := range lines {
			lines[i] = events.Printable(l)
		}
		fmt.Fprintln(os.Stderr, "ir:", strings.Join(lines, "\n"))
		os.Exit(1)
	}
}
