package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"

	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/settings"
	"github.com/referflow/referflow/internal/store"
)

// deployment is what the commands reach: from the stack's outputs, each
// overridden by its flag or variable when given.
type deployment struct {
	Stack          string `json:"stack,omitempty"`
	Region         string `json:"region,omitempty"`
	Table          string `json:"table"`           // TableName output
	APIURL         string `json:"api_url"`         // ApiUrl output
	StateMachine   string `json:"state_machine"`   // StateMachineArn output
	SettingsPrefix string `json:"settings_prefix"` // SettingsPrefix output
}

// globalFlags are the flags every command takes.
type globalFlags struct {
	stack, region, output string
	over                  deployment // --table, --api-url, --state-machine, --settings-prefix
}

// register adds the global flags to root, their defaults from the environment.
func (g *globalFlags) register(root *cobra.Command, getenv func(string) string) {
	f := root.PersistentFlags()
	f.StringVar(&g.stack, "stack", getenv("REFERFLOW_STACK"), "CloudFormation stack of the deployment: its outputs name the table, API URL, state machine and settings prefix")
	f.StringVar(&g.region, "region", "", "AWS region of the stack (default: the AWS configuration's, AWS_REGION)")
	f.StringVarP(&g.output, "output", "o", "table", "output format: table (for people) or json (for scripts)")
	f.StringVar(&g.over.Table, "table", getenv("REFERFLOW_TABLE"), "DynamoDB table (overrides the stack's TableName output)")
	f.StringVar(&g.over.APIURL, "api-url", getenv("REFERFLOW_API_URL"), "base URL of the deployment's API (overrides the stack's ApiUrl output)")
	f.StringVar(&g.over.StateMachine, "state-machine", getenv("REFERFLOW_STATE_MACHINE_ARN"), "state machine ARN (overrides the stack's StateMachineArn output)")
	f.StringVar(&g.over.SettingsPrefix, "settings-prefix", getenv("REFERFLOW_SETTINGS_PREFIX"), "SSM prefix of the stack's settings, /referflow/<stack>/ (overrides the SettingsPrefix output)")
	root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
}

// check refuses an unknown output format.
func (g *globalFlags) check() error {
	if g.output != "table" && g.output != "json" {
		return usagef("--output %q: want table or json", g.output)
	}
	return nil
}

// json reports whether the answer is wanted as JSON.
func (g *globalFlags) json() bool { return g.output == "json" }

// stackDescriber is the CloudFormation call --stack needs.
type stackDescriber interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// app is the command line's state: its writers, the environment, the
// global flags, and how it opens what the commands use (tests replace
// the openers with fakes or a local table).
type app struct {
	out, errOut io.Writer
	getenv      func(string) string
	g           globalFlags

	awsConfig func(ctx context.Context, region string) (aws.Config, error)
	newCFN    func(aws.Config) stackDescriber
	cfg       *aws.Config
	dep       *deployment

	openStore    func(ctx context.Context) (*store.Store, error)
	openPartners func(ctx context.Context, from string) (partnerOps, error)
	openPayees   func(ctx context.Context) (payeeOps, error)
	openFinance  func(ctx context.Context, reconcile bool) (financeOps, error)
	openWebhooks func(ctx context.Context) (webhooks, error)
	openAdmin    func(ctx context.Context) (adminCaller, error)
}

// newApp is the command line with the real openers.
func newApp(out, errOut io.Writer, getenv func(string) string) *app {
	a := &app{out: out, errOut: errOut, getenv: getenv,
		awsConfig: func(ctx context.Context, region string) (aws.Config, error) {
			if region == "" {
				return config.LoadDefaultConfig(ctx)
			}
			return config.LoadDefaultConfig(ctx, config.WithRegion(region))
		},
		newCFN: func(cfg aws.Config) stackDescriber { return cloudformation.NewFromConfig(cfg) },
	}
	a.openStore = a.tableStore
	a.openPartners = a.partnerService
	a.openPayees = a.payeeService
	a.openFinance = a.financeService
	a.openWebhooks = a.webhookService
	a.openAdmin = a.adminClient
	return a
}

// config is the AWS configuration, loaded once.
func (a *app) config(ctx context.Context) (aws.Config, error) {
	if a.cfg == nil {
		cfg, err := a.awsConfig(ctx, a.g.region)
		if err != nil {
			return aws.Config{}, unavailable(fmt.Errorf("the AWS configuration: %w", err))
		}
		a.cfg = &cfg
	}
	return *a.cfg, nil
}

// deployment resolves the deployment once: the stack's outputs (when
// --stack is given), each overridden by its flag or variable.
func (a *app) deployment(ctx context.Context) (deployment, error) {
	if a.dep != nil {
		return *a.dep, nil
	}
	d := deployment{Stack: a.g.stack, Region: a.g.region}
	if a.g.stack != "" {
		cfg, err := a.config(ctx)
		if err != nil {
			return d, err
		}
		if d, err = stackOutputs(ctx, a.newCFN(cfg), a.g.stack); err != nil {
			return d, err
		}
		d.Region = cfg.Region
	}
	for _, o := range []struct {
		to *string
		v  string
	}{{&d.Table, a.g.over.Table}, {&d.APIURL, a.g.over.APIURL},
		{&d.StateMachine, a.g.over.StateMachine}, {&d.SettingsPrefix, a.g.over.SettingsPrefix}} {
		if o.v != "" {
			*o.to = o.v
		}
	}
	a.dep = &d
	return d, nil
}

// stackOutputs reads the deployment from the outputs of stack.
func stackOutputs(ctx context.Context, cfn stackDescriber, stack string) (deployment, error) {
	d := deployment{Stack: stack}
	out, err := cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	var api smithy.APIError
	switch {
	case errors.As(err, &api) && api.ErrorCode() == "ValidationError" && strings.Contains(api.ErrorMessage(), "does not exist"):
		return d, notFound(fmt.Errorf("stack %s: no such CloudFormation stack in this account and region (--region, AWS_REGION)", stack))
	case err != nil:
		return d, unavailable(fmt.Errorf("stack %s: %w", stack, err))
	case len(out.Stacks) == 0:
		return d, notFound(fmt.Errorf("stack %s: no such CloudFormation stack", stack))
	}
	for _, o := range out.Stacks[0].Outputs {
		v := aws.ToString(o.OutputValue)
		switch aws.ToString(o.OutputKey) {
		case "TableName":
			d.Table = v
		case "ApiUrl":
			d.APIURL = v
		case "StateMachineArn":
			d.StateMachine = v
		case "SettingsPrefix":
			d.SettingsPrefix = v
		}
	}
	if d.Table == "" {
		return d, notFound(fmt.Errorf("stack %s has no TableName output: is it a Referflow stack?", stack))
	}
	return d, nil
}

// deploymentCmd is `referflow deployment`: what --stack and the overrides
// resolve to, to check them before running anything.
func (a *app) deploymentCmd() *cobra.Command {
	return &cobra.Command{Use: "deployment", Short: "Show the deployment the commands reach: table, API URL, state machine, settings prefix",
		Example: "  referflow --stack referflow deployment\n  referflow --stack referflow deployment -o json", Args: nArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			d, err := a.deployment(c.Context())
			if err != nil {
				return err
			}
			if a.g.json() {
				return printJSON(a.out, d)
			}
			return table(a.out, "FIELD\tVALUE", "stack\t"+d.Stack, "region\t"+d.Region, "table\t"+d.Table, "api url\t"+d.APIURL,
				"state machine\t"+d.StateMachine, "settings prefix\t"+d.SettingsPrefix)
		}}
}

// tableStore opens the deployment's table.
func (a *app) tableStore(ctx context.Context) (*store.Store, error) {
	d, err := a.deployment(ctx)
	if err != nil {
		return nil, err
	}
	if d.Table == "" {
		return nil, usagef("--stack NAME or --table (REFERFLOW_TABLE) is required: which deployment?")
	}
	cfg, err := a.config(ctx)
	if err != nil {
		return nil, err
	}
	return store.New(dynamodb.NewFromConfig(cfg), d.Table), nil
}

// keyedStore opens the table with the stack's key-hash secrets
// (REFERFLOW_KEY_HASH_SECRET: the environment, else SSM under the
// settings prefix), which finds people by their emails.
func (a *app) keyedStore(ctx context.Context) (*store.Store, error) {
	st, err := a.openStore(ctx)
	if err != nil {
		return nil, err
	}
	return st.WithKeys(privacy.FromSetting(a.secrets(ctx).Values)), nil
}

// secrets reads the stack's settings from SSM under its prefix.
func (a *app) secrets(ctx context.Context) *settings.Source {
	cfg, _ := a.config(ctx) // loaded by openStore already
	d, _ := a.deployment(ctx)
	return settings.New(ssm.NewFromConfig(cfg), d.SettingsPrefix, time.Now)
}
