package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"inferenceruntime/backend/service"
)

var rmCmd = &cobra.Command{
	Use:   "rm NAME...",
	Short: "Remove model names; a model goes with its last name, its file when no other model shares it",
	Args:  cobra.MinimumNArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		return listWithService(cmd, nil, func(svc *service.Service) error {
			for _, ref := range args {
				r, err := svc.RemoveModel(cmd.Context(), ref)
				if err != nil {
					return err
				}
				switch {
				case !r.ModelRemoved:
					fmt.Fprintf(cmd.OutOrStdout(), "removed the name %s (the model keeps its other names)\n", r.Name)
				case r.BlobRemoved:
					fmt.Fprintf(cmd.OutOrStdout(), "removed %s and its file\n", r.Name)
				default:
					fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", r.Name)
				}
			}
			return nil
		})
	},
}

func init() { rootCmd.AddCommand(rmCmd) }
