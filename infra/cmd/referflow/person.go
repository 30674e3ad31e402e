package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/settings"
	"github.com/referflow/referflow/internal/store"
)

// personErase parses and runs `referflow person erase` (fs has -table).
func personErase(ctx context.Context, fs *flag.FlagSet, table *string, args []string) error {
	prefix := fs.String("settings-prefix", os.Getenv("REFERFLOW_SETTINGS_PREFIX"),
		"SSM prefix of the stack's settings (the SettingsPrefix output); "+privacy.SecretSetting+" in the environment wins")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		return errors.New(usage)
	}
	return runErase(ctx, *table, *prefix, fs.Arg(0), os.Stdout)
}

// runErase is `referflow person erase -table T [-settings-prefix P] EMAIL`:
// the store finds the person's referrals by the keyed hash of their email,
// under REFERFLOW_KEY_HASH_SECRET from the environment or else from the
// stack's SSM parameters under prefix (the SettingsPrefix output).
func runErase(ctx context.Context, table, prefix, email string, out io.Writer) error {
	st, err := open(ctx, table)
	if err != nil {
		return err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	secrets := settings.New(ssm.NewFromConfig(cfg), prefix, time.Now)
	return erasePerson(ctx, st.WithKeys(privacy.FromSetting(secrets.Values)), email, out, time.Now())
}

// erasePerson erases the personal data of the referee with email from
// every referral (store.ErasePerson) and says how many referrals it erased.
// Repeating it erases nothing more; it finishes an erasure cut short.
func erasePerson(ctx context.Context, st *store.Store, email string, out io.Writer, now time.Time) error {
	email = strings.ToLower(strings.TrimSpace(email))
	if !referral.ValidEmail(email) {
		return fmt.Errorf("person erase: %q is not an email address", email)
	}
	n, err := st.ErasePerson(ctx, email, events.ActorOperator, now)
	if err != nil {
		return fmt.Errorf("person erase: %d referral(s) erased before: %w (run it again to finish; without the secret, set -settings-prefix /referflow/<stack>/ or %s)", n, err, privacy.SecretSetting)
	}
	fmt.Fprintf(out, "erased the personal data of %d referral(s)\n", n)
	return nil
}
