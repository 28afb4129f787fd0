package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aegir-hosting/aegir"
)

// recoverCommand rebuilds sites from the off-site target on a machine that
// lost them: aegir recover --from=offsite @site... | --all.
func (m *Main) recoverCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "recover --from=offsite @SITE...|--all",
		Short:   "rebuild sites from the off-site target: contexts, platform code, database and files, then verify",
		GroupID: groupHosting, Args: cobra.ArbitraryArgs,
	}
	from := addOption(cmd.Flags(), "from", "offsite", "where to recover from: offsite (the one source there is)")
	all := addSwitch(cmd.Flags(), "all", "every site the off-site target holds")
	asJSON := addSwitch(cmd.Flags(), "json", "print what was recovered as JSON")
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if from.value != "offsite" {
			return aegir.FieldErrorf("from", "%q: recover reads the off-site target only (--from=offsite)", from.value)
		}
		if all.on() == (len(args) > 0) {
			return usageErrorf("usage: %s (name sites, or --all)", c.UseLine())
		}
		if err := m.refuseRoot(); err != nil {
			return err
		}
		var sites []string
		for _, a := range args {
			sites = append(sites, aegir.ContextName(a))
		}
		var opts aegir.TaskOptions
		if !asJSON.on() {
			opts.Sink = m.printEntry
		}
		b := m.backend(m.paths(homeOption(c)))
		done, err := b.Recover(c.Context(), sites, opts)
		if asJSON.on() {
			enc := json.NewEncoder(m.Stdout)
			enc.SetIndent("", "  ")
			if jerr := enc.Encode(done); jerr != nil {
				return jerr
			}
		} else {
			for _, r := range done {
				if r.Error != "" {
					fmt.Fprintf(m.Stdout, "%s: failed: %s\n", r.Site, r.Error)
				} else {
					fmt.Fprintf(m.Stdout, "%s: recovered from snapshot %.8s\n", r.Site, r.Snapshot)
				}
			}
		}
		return err
	}
	return cmd
}
