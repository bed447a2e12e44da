package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"inferenceruntime/backend/service"
)

var cpCmd = &cobra.Command{
	Use:   "cp SOURCE DESTINATION",
	Short: "Give a model another name (an alias; nothing is copied on disk)",
	Args:  cobra.ExactArgs(2),
	RunE: func(cmd *cobra.Command, args []string) error {
		return listWithService(cmd, nil, func(svc *service.Service) error {
			m, err := svc.CopyModel(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is now also %s\n", m.Name, args[1])
			return nil
		})
	},
}

func init() { rootCmd.AddCommand(cpCmd) }
